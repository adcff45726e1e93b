// The isolation contract: how any plugin runs untrusted code. The liteboxd plugin provides it (bubblewrap);
// other plugins resolve it at use time with ctx.services.get("isolation") and say so in /health when it is absent.

/** Every sandbox an isolation service starts has the server's own Bun binary here (read-only), wherever the host
 * installed it (npx's cache and ~/.bun are under /root, which sandboxes never see). `bun`/`bunx` resolve through
 * SANDBOX_BIN_DIR, which heads the sandbox's default PATH. Run Bun code in a sandbox with this path, never with
 * `process.execPath` (a host path). */
export const SANDBOX_BIN_DIR = "/bunker/bin";
export const SANDBOX_BUN = `${SANDBOX_BIN_DIR}/bun`;
/** The PATH a sandbox starts with (a spec's env may replace it). */
export const SANDBOX_PATH = `${SANDBOX_BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

export interface IsolationMount {
  /** Absolute path on the host. */
  host: string;
  /** Absolute path inside the sandbox. */
  sandbox: string;
  /** Read-only unless true. */
  writable?: boolean;
}

export interface IsolationLimits {
  memoryMb?: number;
  /** CPU share in cores (0.5 = half a core). */
  cpus?: number;
  /** Maximum number of processes/threads. */
  pids?: number;
}

export interface IsolatedSpawnSpec {
  argv: string[];
  /** Working directory inside the sandbox (default /workspace when mounted, else /). */
  cwd?: string;
  env?: Record<string, string>;
  /** Extra bind mounts; the root filesystem is the host's, read-only, with sensitive paths masked. */
  mounts?: IsolationMount[];
  /** Outbound network; default false: an own empty network namespace (loopback only). */
  network?: boolean;
  limits?: IsolationLimits;
  /** Hostname inside the sandbox. */
  hostname?: string;
  stdin?: "pipe" | "ignore";
  /** Kill the whole process tree after this many ms. */
  timeoutMs?: number;
}

export interface IsolatedProcess {
  readonly pid: number;
  readonly stdin: import("bun").FileSink | null;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves with the exit code (128+signal when killed). */
  readonly exited: Promise<number>;
  /** True once the timeout (or kill) ended it. */
  readonly timedOut: boolean;
  /** Kills every process of the sandbox. */
  kill(signal?: NodeJS.Signals | number): void;
  /** Limits that could not be enforced on this host, with why. */
  readonly unenforced: string[];
}

export interface IsolatedRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** stdout or stderr hit maxOutputBytes and was cut. */
  truncated: boolean;
  durationMs: number;
}

export interface IsolationService {
  /** Starts a process in a fresh sandbox (own pid/ipc/uts/mount/net namespaces, no capabilities, unprivileged uid). */
  spawn(spec: IsolatedSpawnSpec): IsolatedProcess;
  /** Runs to completion, collecting output (each stream capped at maxOutputBytes, default 1 MiB). */
  run(spec: IsolatedSpawnSpec & { input?: string | Uint8Array; maxOutputBytes?: number }): Promise<IsolatedRunResult>;
  /** Whether the host can isolate at all (bwrap present and working), and why not. */
  status(): { available: boolean; reason?: string };
}

declare module "./services" {
  interface BunkerServices {
    isolation: IsolationService;
  }
}
