// The local driver: one long-lived bubblewrap sandbox per LiteBoxd sandbox, with the in-sandbox supervisor
// (supervisor.py) as its first process. Its writable /workspace and /tmp are host directories removed on delete.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import type { BwrapIsolationService, BwrapProcess } from "../isolation";
import type { TCPSocketListener } from "bun";
import { fromBase64, SupervisorChannel, toBase64, type SupervisorEvent } from "./channel";
import { createImageCache, hiddenImageSource, hostPythonArgv, HOST_USR, imageKind, type ImageCache } from "./images";
import { spawnInteractive } from "./interactive";
import { openTunnel, type TunnelState } from "./tunnel";
import {
  DriverPathError,
  type DriverCreateSpec,
  type DriverExecRequest,
  type DriverExecResult,
  type DriverSandbox,
  type DriverSpawnRequest,
  type DriverStatus,
  type InteractiveProcess,
  type SandboxDriver,
} from "./types";

const SUPERVISOR = readFileSync(join(import.meta.dir, "supervisor.py"), "utf8");
const PYTHON = "/usr/bin/python3";
const MAX_LOG_BYTES = 1024 * 1024;
const CHUNK = 64 * 1024;
const UPLOAD_WINDOW = 8;

export interface LocalDriverOptions {
  isolation: BwrapIsolationService;
  /** Where each sandbox's /workspace and /tmp live on the host (hidden from every sandbox). */
  stateDir: string;
  /** Time allowed for the sandbox's supervisor to come up. */
  startTimeoutMs?: number;
  /** Where pulled OCI images are unpacked (default: beside stateDir, "images"). */
  imageDir?: string;
  /** Host paths a local image (root filesystem directory, OCI archive or layout) must not come from, besides the
   * built-in secret places: the Bunker data directory and the configured maskPaths. */
  hiddenPaths?: string[];
  /** Sandboxes kept started ahead (image "host", no network), handed out on create: creation then skips the
   * bwrap + supervisor start. 0 disables. */
  warmPool?: number;
  onError?: (message: string, error: unknown) => void;
}

/** Limits a pre-started sandbox gets until it is handed out (so that every group exists to be adjusted). */
const POOL_LIMITS = { memoryMb: 512, cpus: 1, pids: 512 };

export function createLocalDriver(opts: LocalDriverOptions): SandboxDriver {
  mkdirSync(opts.stateDir, { recursive: true });
  const images = createImageCache(opts.imageDir ?? join(dirname(opts.stateDir), "images"));
  // Pre-started sandboxes of an earlier run died with it: their storage goes.
  for (const name of readdirSync(opts.stateDir)) if (name.startsWith("pool-")) rmSync(join(opts.stateDir, name), { recursive: true, force: true });
  const dirOf = (id: string) => join(opts.stateDir, id);
  const pool: LocalSandbox[] = [];
  const size = opts.warmPool ?? 0;
  let filling = false;
  let closed = false;

  async function refill() {
    if (filling || closed || size === 0) return;
    filling = true;
    try {
      while (!closed && pool.length < size) {
        const sandbox = new LocalSandbox(undefined, dirOf(`pool-${crypto.randomUUID()}`), opts, images);
        try {
          await sandbox.launch({ image: "host", env: {}, network: false, limits: POOL_LIMITS });
        } catch (error) {
          opts.onError?.("could not pre-start a sandbox", error);
          await sandbox.delete().catch(() => undefined);
          return;
        }
        if (closed) {
          await sandbox.delete();
          return;
        }
        sandbox.onExit(() => {
          const i = pool.indexOf(sandbox);
          if (i >= 0) pool.splice(i, 1);
        });
        pool.push(sandbox);
      }
    } finally {
      filling = false;
    }
  }

  return {
    name: "local",
    checkImage(image) {
      const hidden = hiddenImageSource(image, opts.hiddenPaths ?? []);
      if (hidden) return { ok: false, reason: `images may not be read from ${hidden}: sandboxes never see it` };
      const kind = imageKind(image);
      if (kind === "host" || kind === "oci") return { ok: true };
      if (!kind) {
        return { ok: false, reason: isAbsolute(image)
          ? `${image} does not exist (use "host", an OCI reference, an OCI archive or layout, or a root filesystem directory)`
          : `image "${image}" is not a valid OCI reference (e.g. python:3.11-slim) nor "host"` };
      }
      if (!statSync(image).isDirectory()) return { ok: false, reason: `root filesystem directory ${image} does not exist` };
      if (!existsSync(join(image, PYTHON))) return { ok: false, reason: `root filesystem ${image} has no ${PYTHON}, which the sandbox supervisor needs` };
      return { ok: true };
    },
    create(spec) {
      const warm = spec.image === "host" && !spec.network ? pool.shift() : undefined;
      void refill();
      if (warm) {
        warm.adopt(spec, dirOf(spec.id));
        return warm;
      }
      return new LocalSandbox(spec, dirOf(spec.id), opts, images);
    },
    isOciImage: (image) => imageKind(image) === "oci",
    pullImage: (image, onProgress) => images.pull(image, onProgress).then(() => undefined),
    cancelPull: (image) => images.cancel(image),
    imageCached: (image) => images.cached(image) !== undefined,
    removeImage: (image) => images.remove(image),
    imageUsers: (image) => images.users(image),
    async cleanupOrphan(id) {
      rmSync(dirOf(id), { recursive: true, force: true });
    },
    warm: () => void refill(),
    async close() {
      closed = true;
      images.cancelAll();
      await Promise.all(pool.splice(0).map((s) => s.delete().catch(() => undefined)));
    },
  };
}

class LocalSandbox implements DriverSandbox {
  private channel: SupervisorChannel | undefined;
  private proc: BwrapProcess | undefined;
  private state: DriverStatus = { state: "starting" };
  private logChunks: string[] = [];
  private logBytes = 0;
  private exitListeners: Array<(s: DriverStatus) => void> = [];
  unenforced: string[] = [];

  constructor(
    private spec: DriverCreateSpec | undefined,
    private dir: string,
    private readonly opts: LocalDriverOptions,
    private readonly images: ImageCache,
  ) {}

  private releaseImage: (() => void) | undefined;
  private stopped = false;

  get id(): string {
    return this.spec?.id ?? "";
  }

  /** Hands a pre-started sandbox to its user: its storage moves under the user's id (the bind mounts follow). */
  adopt(spec: DriverCreateSpec, dir: string) {
    renameSync(this.dir, dir);
    this.dir = dir;
    this.spec = spec;
  }

  /** Starts bwrap with the supervisor and waits until it answers. */
  async launch(spec: Pick<DriverCreateSpec, "image" | "env" | "network" | "limits">): Promise<void> {
    const workspace = join(this.dir, "workspace");
    const tmp = join(this.dir, "tmp");
    mkdirSync(workspace, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const mounts = [
      { host: workspace, sandbox: "/workspace", writable: true },
      { host: tmp, sandbox: "/tmp", writable: true },
    ];
    let rootfs = spec.image === "host" ? undefined : spec.image;
    let python = [PYTHON];
    let env = spec.env;
    if (imageKind(spec.image) === "oci") {
      // Held from before the pull, so the entry cannot be removed under a sandbox starting from it.
      this.releaseImage ??= this.images.acquire(spec.image);
      const image = await this.images.pull(spec.image);
      if (this.stopped) throw new Error("the sandbox was stopped while its image was pulled");
      rootfs = image.rootfs;
      python = hostPythonArgv();
      mounts.push({ host: "/usr", sandbox: HOST_USR, writable: false });
      env = { ...image.env, ...spec.env };
    }
    this.proc = this.opts.isolation.spawn({
      id: `lbx-${crypto.randomUUID()}`,
      argv: [...python, "-I", "-S", "-c", SUPERVISOR],
      env,
      mounts,
      network: spec.network,
      limits: spec.limits,
      hostname: "sandbox",
      stdin: "pipe",
      rootfs,
    });
    this.unenforced = [...this.proc.unenforced];
    this.channel = new SupervisorChannel(this.proc, (e) => this.onEvent(e));
    void this.collectStderr(this.proc.stderr);
    void this.proc.exited.then((code) => this.finish({ state: "gone", exitCode: code, reason: `sandbox runtime exited with code ${code}` }));
    const timeout = Bun.sleep(this.opts.startTimeoutMs ?? 15_000).then(() => {
      throw new Error("the sandbox supervisor did not start in time");
    });
    try {
      await Promise.race([this.channel.ready, timeout]);
    } catch (error) {
      this.proc.kill();
      const detail = this.logs().trim();
      throw new Error(`${(error as Error).message}${detail ? `: ${detail.slice(-500)}` : ""}`);
    }
  }

  async start(): Promise<void> {
    const spec = this.spec!;
    if (!this.proc) await this.launch(spec);
    else {
      // A pre-started sandbox: give it this sandbox's limits and environment.
      this.unenforced = [...this.proc.unenforced, ...this.proc.setLimits(spec.limits)];
      this.live().send({ op: "env", env: spec.env });
    }
    if (this.state.state === "starting") this.state = { state: "running" };
  }

  runMain(): void {
    const spec = this.spec!;
    if (spec.argv.length > 0) this.live().send({ op: "main", argv: spec.argv, cwd: "/workspace" });
  }

  private async collectStderr(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      this.appendLog(decoder.decode(value, { stream: true }));
    }
  }

  private appendLog(text: string) {
    this.logChunks.push(text);
    this.logBytes += text.length;
    while (this.logBytes > MAX_LOG_BYTES && this.logChunks.length > 1) this.logBytes -= this.logChunks.shift()!.length;
  }

  private onEvent(e: SupervisorEvent) {
    if (e.ev === "log") this.appendLog(new TextDecoder().decode(fromBase64(e.d)));
    else if (e.ev === "main-exit") {
      const code = typeof e.code === "number" ? e.code : 1;
      if (typeof e.error === "string") this.appendLog(`${e.error}\n`);
      this.finish({ state: "exited", exitCode: code, reason: `main process exited with code ${code}` });
    }
  }

  private finish(status: DriverStatus) {
    if (this.state.state === "gone" || (this.state.state === "exited" && status.state === "exited")) return;
    if (this.state.state === "exited" && status.state === "gone") {
      this.state = { ...this.state, state: "gone" };
      return;
    }
    this.state = status;
    for (const fn of this.exitListeners) fn(status);
  }

  status(): DriverStatus {
    return this.state;
  }

  onExit(fn: (s: DriverStatus) => void) {
    this.exitListeners.push(fn);
  }

  logs(): string {
    return this.logChunks.join("");
  }

  private live(): SupervisorChannel {
    if (!this.channel || this.channel.isClosed) throw new Error("the sandbox is not running");
    return this.channel;
  }

  exec(req: DriverExecRequest): Promise<DriverExecResult> {
    const channel = this.live();
    return new Promise((resolve, reject) => {
      const conv = channel.open((e) => {
        if (e.ev === "exit") {
          conv.close();
          clearTimeout(guard);
          const decode = (v: unknown) => new TextDecoder().decode(fromBase64(v));
          resolve({
            exitCode: typeof e.code === "number" ? e.code : 1,
            stdout: decode(e.out),
            stderr: decode(e.err),
            timedOut: e.timed_out === true,
            truncated: e.truncated === true,
          });
        } else if (e.ev === "closed") {
          conv.close();
          clearTimeout(guard);
          reject(new Error(String(e.msg ?? "the sandbox stopped")));
        }
      });
      // The supervisor enforces the timeout; this guard only covers a supervisor that stopped answering.
      const guard = setTimeout(() => {
        conv.close();
        resolve({ exitCode: 137, stdout: "", stderr: "", timedOut: true, truncated: false });
      }, req.timeoutMs + 15_000);
      channel.send({
        op: "exec", id: conv.id, argv: req.argv, env: req.env ?? {}, cwd: req.cwd ?? "/workspace",
        timeout: req.timeoutMs / 1000, max: req.maxOutputBytes ?? 1024 * 1024,
      });
    });
  }

  async writeFile(path: string, body: ReadableStream<Uint8Array>): Promise<number> {
    const channel = this.live();
    const waiters: Array<(e: SupervisorEvent) => void> = [];
    const backlog: SupervisorEvent[] = [];
    const conv = channel.open((e) => (waiters.length ? waiters.shift()!(e) : backlog.push(e)));
    const next = () => new Promise<SupervisorEvent>((r) => (backlog.length ? r(backlog.shift()!) : waiters.push(r)));
    const failWith = (e: SupervisorEvent): never => {
      throw e.ev === "error" ? new DriverPathError(String(e.msg), e.kind === "path" ? "path" : e.kind === "notfound" ? "notfound" : "io") : new Error(String(e.msg ?? "the sandbox stopped"));
    };
    try {
      channel.send({ op: "put", id: conv.id, path });
      const opened = await next();
      if (opened.ev !== "ok") failWith(opened);
      let inFlight = 0;
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (let off = 0; off < value.byteLength; off += CHUNK) {
          while (inFlight >= UPLOAD_WINDOW) {
            const e = await next();
            if (e.ev === "ack") inFlight--;
            else failWith(e);
          }
          channel.send({ op: "data", id: conv.id, d: toBase64(value.subarray(off, off + CHUNK)) });
          inFlight++;
        }
      }
      channel.send({ op: "end", id: conv.id });
      for (;;) {
        const e = await next();
        if (e.ev === "done") return typeof e.size === "number" ? e.size : 0;
        if (e.ev !== "ack") failWith(e);
      }
    } finally {
      conv.close();
    }
  }

  async readFile(path: string): Promise<{ size: number; body: ReadableStream<Uint8Array> }> {
    const channel = this.live();
    const queue: SupervisorEvent[] = [];
    let wake: (() => void) | undefined;
    const conv = channel.open((e) => {
      queue.push(e);
      wake?.();
    });
    const next = async () => {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return queue.shift()!;
    };
    channel.send({ op: "get", id: conv.id, path });
    const first = await next();
    if (first.ev !== "ok") {
      conv.close();
      if (first.ev === "error") throw new DriverPathError(String(first.msg), first.kind === "notfound" ? "notfound" : first.kind === "path" ? "path" : "io");
      throw new Error(String(first.msg ?? "the sandbox stopped"));
    }
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const e = await next();
        if (e.ev === "data") {
          controller.enqueue(fromBase64(e.d));
          try {
            channel.send({ op: "ack", id: conv.id });
          } catch {
            /* sandbox gone: the next event is "closed" */
          }
        } else if (e.ev === "end") {
          conv.close();
          controller.close();
        } else {
          conv.close();
          controller.error(new Error(String(e.msg ?? "the sandbox stopped during the download")));
        }
      },
      cancel() {
        conv.close();
        try {
          channel.send({ op: "cancel", id: conv.id });
        } catch {
          /* gone */
        }
      },
    });
    return { size: typeof first.size === "number" ? first.size : 0, body };
  }

  spawn(req: DriverSpawnRequest): Promise<InteractiveProcess> {
    return spawnInteractive(this.live(), req);
  }

  async pause(): Promise<string> {
    if (!this.proc) throw new Error("the sandbox is not running");
    return this.proc.freeze();
  }

  async resume(): Promise<void> {
    this.proc?.thaw();
  }

  /** A loopback TCP port on the host that tunnels, through the supervisor, to `port` on the sandbox's own loopback
   * (the sandbox has no network the host could route to). One listener per sandbox port, closed with the sandbox. */
  async portTarget(port: number): Promise<{ host: string; port: number }> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DriverPathError(`invalid port ${port}`, "path");
    this.live();
    let listener = this.portListeners.get(port);
    if (!listener) {
      listener = this.tunnel(port);
      this.portListeners.set(port, listener);
    }
    return { host: "127.0.0.1", port: listener.port };
  }

  private portListeners = new Map<number, TCPSocketListener<TunnelState>>();

  private tunnel(port: number): TCPSocketListener<TunnelState> {
    return openTunnel(port, () => this.live());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const listener of this.portListeners.values()) listener.stop(true);
    this.portListeners.clear();
    this.channel?.shutdown();
    if (this.proc) {
      this.proc.kill();
      await this.proc.exited;
    }
  }

  async delete(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
    this.releaseImage?.();
    this.releaseImage = undefined;
  }
}
