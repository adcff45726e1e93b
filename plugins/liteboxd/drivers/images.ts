// The OCI image cache of the local driver: an image (registry reference, OCI archive or OCI layout) is copied with
// `skopeo` into an OCI layout and unpacked with `umoci` into a root filesystem that sandboxes bind read-only.
// Entries are shared and reference-counted; one pull per image at a time (later callers join it).
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";

/** Host places a sandbox never sees, so an image may not be read from them either. */
const SECRET_PLACES = ["/root", "/home", "/run", "/proc", "/sys", "/dev", "/boot", "/etc/ssh", "/etc/ssl/private", "/var/lib", "/var/log", "/var/spool", "/var/mail", "/var/backups"];

/** The local file an image reference names, if any ("/a/b.tar:tag", "oci:/dir:tag", "oci-archive:/f"). */
function localImagePath(image: string): string | undefined {
  const m = /^(?:oci|oci-archive|docker-archive):(\/[^:]*)/.exec(image);
  if (m) return m[1];
  return isAbsolute(image) ? splitTag(image)[0] : undefined;
}

/** The hidden place a local image reference reads from, if it does (else undefined). */
export function hiddenImageSource(image: string, extraHidden: string[]): string | undefined {
  const local = localImagePath(image);
  if (!local) return undefined;
  let real = resolve(local);
  try {
    real = realpathSync(real);
  } catch {
    /* missing: reported by the image checks */
  }
  const hidden = [...SECRET_PLACES, ...extraHidden.map((p) => resolve(p))];
  return hidden.find((h) => real === h || real.startsWith(h.endsWith("/") ? h : `${h}/`));
}

/** OCI images need not have Python: the supervisor then runs on the host's interpreter, bound read-only at HOST_USR
 * and started through the host's dynamic loader (so nothing of it leaks into the image's own programs). */
export const HOST_USR = "/.bunker/host/usr";
export function hostPythonArgv(): string[] {
  const python = realpathSync("/usr/bin/python3");
  const loader = ["/usr/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"].find((p) => existsSync(p));
  if (!loader) throw new Error("no dynamic loader found to run the sandbox supervisor inside an OCI image");
  const ld = realpathSync(loader);
  if (!python.startsWith("/usr/") || !ld.startsWith("/usr/")) throw new Error("the host's python3 and loader must live under /usr to run inside OCI images");
  const inSandbox = (p: string) => HOST_USR + p.slice("/usr".length);
  return [inSandbox(ld), "--library-path", inSandbox(dirname(ld)), inSandbox(python)];
}

export type ImageKind = "host" | "rootfs" | "oci";

export interface ImageInfo {
  /** The unpacked root filesystem. */
  rootfs: string;
  /** The image's configured environment (PATH and the like), applied under the template's env. */
  env: Record<string, string>;
  layers: number;
}

export interface PullProgress {
  ready: number;
  total: number;
}

/** How skopeo reaches an image reference; undefined when it is not an OCI image reference. */
export function ociSource(image: string): string | undefined {
  if (image === "host") return undefined;
  if (/^(oci|oci-archive|docker-archive):\//.test(image) || /^docker:\/\/[a-z0-9]/i.test(image)) return image;
  if (isAbsolute(image)) {
    const [path] = splitTag(image);
    if (!existsSync(path)) return undefined;
    if (statSync(path).isFile()) return `oci-archive:${image}`;
    if (existsSync(join(path, "oci-layout"))) return `oci:${image}`;
    return undefined; // a plain root filesystem directory
  }
  // A registry reference: python:3.11-slim, ghcr.io/org/img@sha256:…; unqualified names are Docker Hub's.
  if (!/^[a-z0-9]([a-z0-9._\/:@-]*[a-zA-Z0-9_.-])?$/i.test(image) || image.includes("..")) return undefined;
  const first = image.split("/")[0]!;
  const qualified = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? image : `docker.io/${image.includes("/") ? "" : "library/"}${image}`;
  return `docker://${qualified}`;
}

/** "/a/b.tar:tag" → ["/a/b.tar", "tag"]; a colon that belongs to the path stays. */
function splitTag(path: string): [string, string | undefined] {
  const i = path.lastIndexOf(":");
  if (i > 0 && !path.slice(i).includes("/") && !existsSync(path)) return [path.slice(0, i), path.slice(i + 1)];
  return [path, undefined];
}

export function imageKind(image: string): ImageKind | undefined {
  if (image === "host") return "host";
  if (ociSource(image)) return "oci";
  if (isAbsolute(image) && existsSync(image) && statSync(image).isDirectory()) return "rootfs";
  return undefined;
}

async function run(argv: string[], signal?: AbortSignal): Promise<string> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" } });
  const abort = () => proc.kill("SIGKILL");
  signal?.addEventListener("abort", abort);
  try {
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (signal?.aborted) throw new Error("cancelled");
    if (code !== 0) throw new Error(`${argv[0]} ${argv[1]} failed: ${(err || out).trim().split("\n").slice(-3).join(" ").slice(0, 600)}`);
    return out;
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}

const keyOf = (image: string) => new Bun.CryptoHasher("sha256").update(image).digest("hex").slice(0, 24);

export function createImageCache(dir: string) {
  mkdirSync(dir, { recursive: true });
  // Half-done pulls of an earlier run are left-overs.
  for (const name of readdirSync(dir)) if (name.startsWith("tmp-")) rmSync(join(dir, name), { recursive: true, force: true });
  interface PullState { promise: Promise<ImageInfo>; progress: PullProgress; listeners: Set<(p: PullProgress) => void>; abort: AbortController }
  const pulls = new Map<string, PullState>();
  const refs = new Map<string, number>();
  const entryDir = (image: string) => join(dir, keyOf(image));

  function cached(image: string): ImageInfo | undefined {
    const d = entryDir(image);
    try {
      const meta = JSON.parse(readFileSync(join(d, "meta.json"), "utf8")) as { env: Record<string, string>; layers: number; image: string };
      if (meta.image !== image) return undefined;
      return { rootfs: join(d, "rootfs"), env: meta.env, layers: meta.layers };
    } catch {
      return undefined;
    }
  }

  async function doPull(image: string, source: string, report: (p: PullProgress) => void, signal: AbortSignal): Promise<ImageInfo> {
    const inspect = JSON.parse(await run(["skopeo", "inspect", "--insecure-policy", source], signal)) as { Layers?: string[]; Env?: string[] | null };
    const layers = inspect.Layers ?? [];
    report({ ready: 0, total: layers.length });
    const tmp = join(dir, `tmp-${crypto.randomUUID()}`);
    mkdirSync(tmp);
    try {
      const blobs = join(tmp, "layout", "blobs", "sha256");
      let last = -1;
      const watch = setInterval(() => {
        let n = 0;
        for (const digest of layers) if (existsSync(join(blobs, digest.replace(/^sha256:/, "")))) n++;
        if (n !== last) report({ ready: (last = n), total: layers.length });
      }, 25);
      try {
        await run(["skopeo", "copy", "--insecure-policy", "--quiet", source, `oci:${join(tmp, "layout")}:img`], signal);
      } finally {
        clearInterval(watch);
      }
      report({ ready: layers.length, total: layers.length });
      await run(["umoci", "raw", "unpack", "--image", `${join(tmp, "layout")}:img`, join(tmp, "rootfs")], signal);
      const env: Record<string, string> = {};
      for (const kv of inspect.Env ?? []) {
        const i = kv.indexOf("=");
        if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
      }
      writeFileSync(join(tmp, "meta.json"), JSON.stringify({ image, source, env, layers: layers.length, pulledAt: new Date().toISOString() }));
      const final = entryDir(image);
      rmSync(final, { recursive: true, force: true });
      renameSync(tmp, final);
      return { rootfs: join(final, "rootfs"), env, layers: layers.length };
    } catch (error) {
      rmSync(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  return {
    cached,
    /** Pulls and unpacks `image` (joining a pull already under way); `onProgress` sees layers as they land. */
    pull(image: string, onProgress?: (p: PullProgress) => void): Promise<ImageInfo> {
      const hit = cached(image);
      if (hit) {
        onProgress?.({ ready: hit.layers, total: hit.layers });
        return Promise.resolve(hit);
      }
      const source = ociSource(image);
      if (!source) return Promise.reject(new Error(`"${image}" is not an OCI image reference, archive or layout`));
      let p = pulls.get(image);
      if (!p) {
        const abort = new AbortController();
        const state: PullState = { promise: Promise.resolve(undefined as never), progress: { ready: 0, total: 0 }, listeners: new Set(), abort };
        state.promise = doPull(image, source, (progress) => {
          state.progress = progress;
          for (const fn of state.listeners) fn(progress);
        }, abort.signal).finally(() => pulls.delete(image));
        pulls.set(image, (p = state));
      }
      if (onProgress) {
        p.listeners.add(onProgress);
        onProgress(p.progress);
      }
      return p.promise;
    },
    /** Stops a pull under way (every caller waiting on it fails). */
    cancel(image: string): void {
      pulls.get(image)?.abort.abort();
    },
    pulling: (image: string) => pulls.has(image),
    /** Stops every pull under way (shutdown). */
    cancelAll(): void {
      for (const p of pulls.values()) p.abort.abort();
    },
    /** Marks the image in use by one more sandbox; the returned function releases it. */
    acquire(image: string): () => void {
      refs.set(image, (refs.get(image) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const n = (refs.get(image) ?? 1) - 1;
        if (n <= 0) refs.delete(image);
        else refs.set(image, n);
      };
    },
    users: (image: string) => refs.get(image) ?? 0,
    /** Removes an unused cache entry; false when sandboxes still use it. */
    remove(image: string): boolean {
      if ((refs.get(image) ?? 0) > 0) return false;
      rmSync(entryDir(image), { recursive: true, force: true });
      return true;
    },
  };
}

export type ImageCache = ReturnType<typeof createImageCache>;
