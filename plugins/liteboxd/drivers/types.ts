// The driver contract: how the sandbox service drives one runtime (local bubblewrap now; a pod per sandbox later).
// Routes and the service only speak this interface, so another driver slots in without touching them.
import type { InteractiveProcess } from "../contract";

export interface DriverLimits {
  memoryMb?: number;
  cpus?: number;
  pids?: number;
}

export interface DriverCreateSpec {
  id: string;
  /** "host", an absolute root filesystem directory, or an OCI image (registry reference, archive, layout). */
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

export interface DriverSpawnRequest {
  argv: string[];
  tty: boolean;
  cols?: number;
  rows?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Drivers hand out the contract's process as is: the service passes it on to other plugins untouched. */
export type { InteractiveProcess };

/** One sandbox's runtime, as the driver sees it. */
export interface DriverSandbox {
  readonly id: string;
  /** Resolves once the runtime accepts exec/files (the main process is not started yet). */
  start(): Promise<void>;
  /** Starts the main process (command + args), after startupScript and files. */
  runMain(): void;
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
  /** A process with live stdin/stdout/stderr (streaming and interactive exec). */
  spawn?(request: DriverSpawnRequest): Promise<InteractiveProcess>;
  /** Freezes / thaws every process, memory kept (a driver without it leaves these out); pause resolves with how. */
  pause?(): Promise<string>;
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
  /** Image cache (a driver without one leaves these out: its images need no pull). */
  isOciImage?(image: string): boolean;
  /** Pulls and unpacks `image` into the shared cache (joins a pull already under way); progress in layers. */
  pullImage?(image: string, onProgress?: (progress: { ready: number; total: number }) => void): Promise<void>;
  cancelPull?(image: string): void;
  imageCached?(image: string): boolean;
  /** Removes an unused cache entry; false when sandboxes still use it. */
  removeImage?(image: string): boolean;
  /** How many sandboxes use the cached image now. */
  imageUsers?(image: string): number;
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
