// The `isolation` service: runs untrusted programs in bubblewrap sandboxes (see core/isolation.ts for the contract).
// Each sandbox runs as an unprivileged host uid (setpriv) inside its own user/pid/ipc/uts/mount/net/cgroup namespaces,
// with no capabilities, a read-only host root whose secrets are masked, a fresh /proc, /dev and /tmp, and its own
// cgroups for memory/cpu/pids. Killing it kills the whole tree: bwrap's pid 1 dies with bwrap, and the cgroup is swept.
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { constants as osConstants, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { IsolatedProcess, IsolatedRunResult, IsolatedSpawnSpec, IsolationService } from "bunker/core";
import { buildBwrapArgs, buildLauncherArgv, buildRootArgs, DEFAULT_PATH, hostResolvConf, syntheticEtc } from "./bwrap";
import { createFreezer } from "./freeze";
import { createSandboxCgroups, probeCgroups } from "./limits";
import { attachSlirp, openBlockFd } from "./network";
import { stageBunBinary } from "./bun-binary";

export interface BwrapIsolationOptions {
  /** Host uid/gid the sandbox runs as, inside and outside (default 65534, "nobody"). */
  uid?: number;
  gid?: number;
  /** Extra host paths hidden from every sandbox (the Bunker data directory, say). */
  maskPaths?: string[];
  /** Make writable mounts owned by the sandbox uid before start (default true), so the sandbox can write them. */
  chownWritableMounts?: boolean;
  /** Add search permission (o+x, never read) to directories above mount sources that the sandbox uid could not
   * traverse, such as a 0700 mkdtemp directory (default true); otherwise such a mount fails to start. */
  fixMountAccess?: boolean;
  /** Size of the private /tmp tmpfs (default 256 MiB; it counts against the memory limit). */
  tmpfsSizeMb?: number;
  bwrapPath?: string;
  /** slirp4netns gives `network: true` its own NATed namespace; without it the host's namespace is shared (reported). */
  slirpPath?: string | null;
  /** The Bun binary bound at SANDBOX_BUN in every sandbox (default: the running server's). */
  bunBinary?: string;
}

/** The spec the local driver uses: the contract's spec plus a root filesystem directory instead of the host's root. */
export interface BwrapSpawnSpec extends IsolatedSpawnSpec {
  /** A directory holding a root filesystem; default "/" (the host's, read-only, secrets masked). */
  rootfs?: string;
  /** A name for the sandbox's cgroups (default: random). */
  id?: string;
}

/** A sandbox process whose limits can still be changed (a pre-started sandbox handed to its user, say). */
export interface BwrapProcess extends IsolatedProcess {
  /** Sets new limits in the sandbox's existing groups; returns the ones that could not be set, with why. */
  setLimits(limits: import("bunker/core").IsolationLimits): string[];
  /** Stops every process of the sandbox (cgroup freezer, else SIGSTOP); resolves with how. Memory is kept. */
  freeze(): Promise<string>;
  /** Lets a frozen sandbox run again. */
  thaw(): void;
}

export interface BwrapIsolationService extends IsolationService {
  spawn(spec: BwrapSpawnSpec): BwrapProcess;
  run(spec: BwrapSpawnSpec & { input?: string | Uint8Array; maxOutputBytes?: number }): Promise<IsolatedRunResult>;
  /** The host uid/gid sandboxes run as (their writable directories must belong to it). */
  readonly uid: number;
  readonly gid: number;
  /** Gives a host directory tree to the sandbox uid. */
  chownForSandbox(path: string): void;
}

/** Recursively gives `path` to uid:gid (without following symlinks), skipping entries that already belong to it. */
export function chownTree(path: string, uid: number, gid: number): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (st.uid !== uid || st.gid !== gid) chownSync(path, uid, gid);
  if (!st.isDirectory()) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else {
      const cst = lstatSync(child, { throwIfNoEntry: false });
      if (cst && (cst.uid !== uid || cst.gid !== gid)) lchownSync(child, uid, gid);
    }
  }
}

/** bwrap resolves mount sources as the sandbox uid: every directory above a source must let "others" search it. */
export function ensureTraversable(path: string, uid: number): void {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st && st.uid !== uid && (st.mode & 0o001) === 0) chmodSync(dir, (st.mode & 0o7777) | 0o001);
    if (dir === "/") break;
  }
}

export function createBwrapIsolation(opts: BwrapIsolationOptions = {}): BwrapIsolationService {
  const uid = opts.uid ?? 65534;
  const gid = opts.gid ?? 65534;
  const bwrapPath = opts.bwrapPath ?? Bun.which("bwrap") ?? "/usr/bin/bwrap";
  const stateDir = mkdtempSync(join(tmpdir(), "bunker-isolation-"));
  const emptyFile = join(stateDir, "empty");
  chmodSync(stateDir, 0o755);
  writeFileSync(emptyFile, "", { mode: 0o444 });
  const rootArgsCache = new Map<string, string[]>();
  const rootArgs = (rootfs: string) => {
    let args = rootArgsCache.get(rootfs);
    if (!args) {
      args = buildRootArgs(rootfs, opts.maskPaths ?? [], emptyFile, stateDir);
      rootArgsCache.set(rootfs, args);
    }
    return args;
  };
  syntheticEtc(stateDir, uid, gid);
  const slirpPath = opts.slirpPath === null ? undefined : (opts.slirpPath ?? Bun.which("slirp4netns") ?? undefined);
  const slirpResolv = join(stateDir, "resolv.conf");
  writeFileSync(slirpResolv, "nameserver 10.0.2.3\n", { mode: 0o444 });
  const resolvConf = slirpPath ? slirpResolv : hostResolvConf();
  let cachedStatus: { available: boolean; reason?: string } | undefined;
  const bunBinary = stageBunBinary(opts.bunBinary);

  function spawn(spec: BwrapSpawnSpec): BwrapProcess {
    if (spec.argv.length === 0) throw new Error("isolation: argv must not be empty");
    const id = spec.id ?? `s-${crypto.randomUUID()}`;
    if (spec.rootfs && !existsSync(spec.rootfs)) throw new Error(`isolation: rootfs ${spec.rootfs} does not exist`);
    if (opts.chownWritableMounts !== false) {
      for (const m of spec.mounts ?? []) if (m.writable) chownTree(m.host, uid, gid);
    }
    if (opts.fixMountAccess !== false) for (const m of spec.mounts ?? []) ensureTraversable(m.host, uid);
    const bwrapArgs = buildBwrapArgs(spec, {
      rootArgs: rootArgs(spec.rootfs ?? "/"),
      uid,
      gid,
      resolvConf,
      netMode: slirpPath ? "slirp" : "share",
      tmpfsSizeBytes: (opts.tmpfsSizeMb ?? 256) * 1024 * 1024,
      bunBinary,
    });
    const cgroups = createSandboxCgroups(id, spec.limits);
    if (spec.network && !slirpPath) {
      cgroups.unenforced.push("network: slirp4netns is not installed, so network access shares the host's network namespace (its loopback services included)");
    }
    const argv = buildLauncherArgv(bwrapArgs, spec.argv, { procsFiles: cgroups.procsFiles, rlimitArgs: cgroups.rlimitArgs, uid, gid, bwrapPath });
    const block = spec.network && slirpPath ? openBlockFd(stateDir) : undefined;
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      proc = Bun.spawn(argv, {
        stdio: [spec.stdin === "pipe" ? "pipe" : "ignore", "pipe", "pipe", ...(block ? [block.fd] : [])],
        env: { PATH: DEFAULT_PATH },
        cwd: "/",
      });
    } catch (error) {
      block?.release();
      void cgroups.remove();
      throw error;
    }
    const freezer = createFreezer(id, proc.pid, () => cgroups.pids());
    let stopSlirp: (() => void) | undefined;
    if (block) {
      // The command waits on the block fd until tap0 is up; if the network cannot be made, the sandbox is killed.
      attachSlirp(proc.pid, slirpPath!, stateDir).then(
        (stop) => {
          stopSlirp = stop;
          block.release();
        },
        (error) => {
          cgroups.unenforced.push(`network: ${(error as Error).message}`);
          killTree("SIGKILL");
          block.release();
        },
      );
    }
    let timedOut = false;
    let killed = false;
    const killTree = (signal: NodeJS.Signals | number = "SIGKILL") => {
      killed = true;
      const all = signal === "SIGKILL" || signal === 9;
      for (const pid of cgroups.pids()) {
        try {
          process.kill(pid, signal);
        } catch {
          /* gone */
        }
      }
      try {
        proc.kill(signal);
      } catch {
        /* gone */
      }
      if (all) cgroups.killAll();
      // A frozen process only dies once thawed.
      if (all) freezer.thaw();
    };
    const timer = spec.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          killTree("SIGKILL");
        }, spec.timeoutMs)
      : undefined;
    const exited = proc.exited.then(async (code) => {
      if (timer) clearTimeout(timer);
      stopSlirp?.();
      block?.release();
      // bwrap is gone, so its pid 1 is too; sweep anything that escaped the namespace's death (nothing should).
      cgroups.killAll();
      // The kernel may take a moment to empty the group; its removal need not hold up the caller.
      void cgroups.remove();
      freezer.remove();
      if (proc.signalCode) return 128 + (signalNumber(String(proc.signalCode)) ?? 9);
      return code ?? 128 + 9;
    });
    return {
      pid: proc.pid,
      stdin: (proc.stdin as import("bun").FileSink | undefined) ?? null,
      stdout: proc.stdout as ReadableStream<Uint8Array>,
      stderr: proc.stderr as ReadableStream<Uint8Array>,
      exited,
      get timedOut() {
        return timedOut;
      },
      get killed() {
        return killed;
      },
      kill: killTree,
      unenforced: cgroups.unenforced,
      setLimits: (limits) => cgroups.update(limits),
      freeze: () => freezer.freeze(),
      thaw: () => freezer.thaw(),
    } as BwrapProcess;
  }

  async function run(spec: BwrapSpawnSpec & { input?: string | Uint8Array; maxOutputBytes?: number }): Promise<IsolatedRunResult> {
    const started = performance.now();
    const max = spec.maxOutputBytes ?? 1024 * 1024;
    const p = spawn({ ...spec, stdin: spec.input !== undefined ? "pipe" : "ignore" });
    if (spec.input !== undefined && p.stdin) {
      p.stdin.write(spec.input);
      await p.stdin.end();
    }
    const [out, err] = await Promise.all([readCapped(p.stdout, max), readCapped(p.stderr, max)]);
    const exitCode = await p.exited;
    return {
      exitCode,
      stdout: out.text,
      stderr: err.text,
      timedOut: p.timedOut,
      truncated: out.truncated || err.truncated,
      durationMs: performance.now() - started,
    };
  }

  function status() {
    if (cachedStatus) return cachedStatus;
    if (!existsSync(bwrapPath)) return (cachedStatus = { available: false, reason: `bwrap not found at ${bwrapPath}` });
    const probe = Bun.spawnSync(
      ["setpriv", "--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--", bwrapPath,
        "--unshare-all", "--unshare-user", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"],
      { stdout: "ignore", stderr: "pipe", env: { PATH: DEFAULT_PATH } },
    );
    cachedStatus = probe.exitCode === 0
      ? { available: true }
      : { available: false, reason: `bwrap cannot create namespaces here: ${probe.stderr.toString().trim()}` };
    return cachedStatus;
  }

  probeCgroups();
  return { spawn, run, status, uid, gid, chownForSandbox: (path) => chownTree(path, uid, gid) };
}

/** Reads a stream to text, keeping at most `max` bytes but draining the rest so the writer never blocks. */
export async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = stream.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    if (size >= max) {
      truncated = true;
      continue;
    }
    const room = max - size;
    if (chunk.byteLength > room) {
      chunks.push(chunk.subarray(0, room));
      size = max;
      truncated = true;
    } else {
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}

function signalNumber(name: string): number | undefined {
  return (osConstants.signals as Record<string, number>)[name];
}
