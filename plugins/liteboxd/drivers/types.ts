// The driver contract: how the sandbox service drives one runtime (local bubblewrap now; a pod per sandbox later).
// Routes and the service only speak this interface, so another driver slots in without touching them.

export interface DriverLimits {
  memoryMb?: number;
  cpus?: number;
  pids?: number;
}

export interface DriverCreateSpec {
  id: string;
  /** "host" or an absolute root filesystem directory (OCI references arrive with the follow-up issue). */
  image: string;
  /** The main process (command + args); empty: the sandbox just idles until deleted. */
  argv: string[];
  env: Record<string, string>;
  network: boolean;
  limits: DriverLimits;
}

export interface DriverExecRequest {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
  maxOutputBytes?: number;
}

export interface DriverExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
}

export type DriverState = "starting" | "running" | "exited" | "gone";

export interface DriverStatus {
  state: DriverState;
  /** Exit code of the main process once it ended. */
  exitCode?: number;
  /** Why it is in that state (a start failure, an unenforced limit...). */
  reason?: string;
}

/** One sandbox's runtime, as the driver sees it. */
export interface DriverSandbox {
  readonly id: string;
  /** Resolves once the runtime accepts exec/files (the main process is started). */
  start(): Promise<void>;
  status(): DriverStatus;
  /** Limits the host could not enforce, with why (surfaced in status_reason and logs). */
  readonly unenforced: string[];
  exec(request: DriverExecRequest): Promise<DriverExecResult>;
  /** Writes a file from a stream; the path is confined to the sandbox (errors are DriverPathError). */
  writeFile(path: string, body: ReadableStream<Uint8Array>): Promise<number>;
  /** Streams a file out of the sandbox, confined the same way. */
  readFile(path: string): Promise<{ size: number; body: ReadableStream<Uint8Array> }>;
  /** The main process's output so far (bounded), oldest first. */
  logs(): string;
  /** Called whenever the main process exits or the runtime dies. */
  onExit(fn: (status: DriverStatus) => void): void;
  /** Stops every process; storage stays until delete(). */
  stop(): Promise<void>;
  /** Stops and removes everything the sandbox owned on the host. */
  delete(): Promise<void>;
  /** Freezes / thaws every process (follow-up issue; a driver without it leaves these out). */
  pause?(): Promise<void>;
  resume?(): Promise<void>;
  /** Where the host reaches a port on the sandbox's own loopback (a tunnel for the local driver, a pod IP later). */
  portTarget?(port: number): Promise<{ host: string; port: number }>;
}

export interface SandboxDriver {
  readonly name: string;
  /** Whether this driver can run `image` now, and why not (an unsupported image reference, say). */
  checkImage(image: string): { ok: true } | { ok: false; reason: string };
  /** Prepares a sandbox (storage, runtime process); call start() on the result. */
  create(spec: DriverCreateSpec): DriverSandbox;
  /** Removes storage that a previous server run left behind for `id`. */
  cleanupOrphan(id: string): Promise<void>;
  /** Starts any sandboxes the driver keeps ready ahead of demand. */
  warm?(): void;
  /** Releases what the driver holds itself (pre-started sandboxes) at shutdown. */
  close?(): Promise<void>;
}

/** A file-API path that leaves the sandbox or is not a file: the service maps it to 400 (404 for `notFound`). */
export class DriverPathError extends Error {
  constructor(message: string, readonly kind: "path" | "notfound" | "io") {
    super(message);
    this.name = "DriverPathError";
  }
}
