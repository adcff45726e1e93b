// What the gateway needs from liteboxd's "liteboxd.sandboxes" service (a subset of it, typed here so this plugin
// states its own contract).

export interface InteractiveProcess {
  write(data: string | Uint8Array): void;
  closeStdin(): void;
  resize(cols: number, rows: number): void;
  readonly output: ReadableStream<{ stream: "stdout" | "stderr"; data: Uint8Array }>;
  /** Exit code (128+signal when killed). */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export interface InteractiveOptions {
  command: string[];
  tty: boolean;
  cols?: number;
  rows?: number;
  env?: Record<string, string>;
  cwd?: string;
}

export interface SandboxAccess {
  get(id: string, owner: string): Promise<{ id: string; status: string }>;
  waitForReady(id: string, owner: string, timeoutMs?: number): Promise<{ status: string }>;
  execInteractive(id: string, owner: string, opts: InteractiveOptions): Promise<InteractiveProcess>;
  verifyAccessToken(id: string, token: string): Promise<{ owner: string; status: string } | null>;
  recordEvent(id: string, type: "Normal" | "Warning", reason: string, message: string): void;
  watch(fn: (sandbox: { id: string; status: string; owner: string }) => void): () => void;
  portTarget(id: string, port: number, owner: string): Promise<{ host: string; port: number }>;
}
