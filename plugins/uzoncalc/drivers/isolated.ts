// The isolated executor: sheets run in a worker process (inside a sandbox when the isolation service is present),
// spoken to in JSON lines over its stdin/stdout. A worker stuck in a step past the limit is killed and restarted;
// the sessions it held are replayed from their recorded inputs on next use.
import type { FileSink } from "bun";
import { forEachLine, LineTooLongError } from "bunker/core";
import { join } from "node:path";
import { BunkerError, errors, isSheetErrorShape } from "../errors";
import type { WorkerReply, WorkerRequest } from "../worker";
import type { Executor, StartSpec, StepOutcome } from "./executor";

export const WORKER_PATH = join(import.meta.dir, "..", "worker.ts");

/** A started worker process, whichever way it was started. */
export interface WorkerProcess {
  readonly stdin: FileSink;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  kill(): void;
}

export type WorkerSpawner = () => WorkerProcess;

export interface IsolatedOptions {
  safeDirs: string[];
  stepTimeoutMs: number;
  maxHtmlBytes?: number;
  /** Extra time the host waits past the step limit before it declares the worker stuck. */
  graceMs?: number;
  spawn: WorkerSpawner;
  onStderr?: (line: string) => void;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

class WorkerGone extends Error {}

/** One worker process and its pending requests. */
class WorkerConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  readonly ready: Promise<void>;
  alive = true;

  constructor(
    readonly proc: WorkerProcess,
    init: DistributiveOmit<Extract<WorkerRequest, { op: "init" }>, "id">,
    onStderr: (line: string) => void,
    onExit: () => void,
  ) {
    // A reply carries a step's HTML (up to maxHtmlBytes, JSON-escaped); a longer line is no reply of ours: the worker
    // is broken, so it is replaced (its sessions replay) rather than the host buffering without end.
    const maxReply = (init.maxHtmlBytes ?? 5 * 1024 * 1024) * 6 + 1024 * 1024;
    void forEachLine(proc.stdout, (line) => this.receive(line), { maxLineLength: maxReply, onOverflow: "throw" }).catch((err) => {
      if (err instanceof LineTooLongError) {
        onStderr(`uzoncalc worker: a reply longer than ${maxReply} characters; restarting the worker`);
        this.kill();
      }
    });
    void forEachLine(proc.stderr, onStderr, { maxLineLength: 16 * 1024 }).catch(() => undefined);
    void proc.exited.then(() => {
      this.alive = false;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new WorkerGone("the worker process exited"));
      }
      this.pending.clear();
      onExit();
    });
    this.ready = this.request(init, 30_000).then(() => undefined);
  }

  private receive(line: string): void {
    let reply: WorkerReply;
    try {
      reply = JSON.parse(line) as WorkerReply;
    } catch {
      return;
    }
    const p = typeof reply?.id === "number" ? this.pending.get(reply.id) : undefined;
    if (!p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.value);
    else {
      // The worker's errors come from the same table (errors.ts); they cross the pipe as plain objects.
      p.reject(isSheetErrorShape(reply.error)
        ? new BunkerError(reply.error.status, reply.error.code, reply.error.message, reply.error.details)
        : errors.WORKER_ERROR("the worker failed"));
    }
  }

  request(req: DistributiveOmit<WorkerRequest, "id">, timeoutMs: number): Promise<unknown> {
    if (!this.alive) return Promise.reject(new WorkerGone("the worker process exited"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      p.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StepOverrun(`the worker did not answer within ${timeoutMs} ms`));
        this.kill();
      }, timeoutMs);
      this.pending.set(id, p);
      this.proc.stdin.write(JSON.stringify({ ...req, id }) + "\n");
      this.proc.stdin.flush();
    });
  }

  kill(): void {
    this.alive = false;
    try {
      this.proc.kill();
    } catch {
      // already gone
    }
  }
}

class StepOverrun extends Error {}

export class IsolatedExecutor implements Executor {
  readonly kind = "isolated" as const;
  private conn: WorkerConnection | null = null;
  private readonly live = new Set<string>();
  private readonly graceMs: number;

  constructor(private readonly options: IsolatedOptions) {
    this.graceMs = options.graceMs ?? 2_000;
  }

  private async connection(): Promise<WorkerConnection> {
    if (!this.conn || !this.conn.alive) {
      const conn = new WorkerConnection(
        this.options.spawn(),
        { op: "init", safeDirs: this.options.safeDirs, stepTimeoutMs: this.options.stepTimeoutMs, maxHtmlBytes: this.options.maxHtmlBytes },
        this.options.onStderr ?? (() => undefined),
        () => {
          if (this.conn === conn) {
            this.conn = null;
            this.live.clear();
          }
        },
      );
      this.conn = conn;
    }
    const conn = this.conn;
    await conn.ready;
    return conn;
  }

  /** Runs one step in the worker; a worker that overruns the limit is killed and the step becomes an error. */
  private async step(req: DistributiveOmit<WorkerRequest, "id">, sessionId: string, steps: number): Promise<StepOutcome> {
    let conn: WorkerConnection;
    try {
      conn = await this.connection();
    } catch (err) {
      throw errors.EXECUTOR_UNAVAILABLE(`the sheet worker could not be started: ${(err as Error).message}`);
    }
    const limit = this.options.stepTimeoutMs * steps + this.graceMs;
    let outcome: StepOutcome;
    try {
      outcome = (await conn.request(req, limit)) as StepOutcome;
    } catch (err) {
      this.live.delete(sessionId);
      if (err instanceof StepOverrun) {
        return { status: "error", html: "", error: `the step ran longer than ${this.options.stepTimeoutMs * steps} ms and its worker was stopped` };
      }
      if (err instanceof WorkerGone) {
        throw errors.EXECUTOR_RESTARTED("the sheet worker stopped during this step; the session is unchanged, try again");
      }
      throw err;
    }
    if (outcome.status === "waiting_input") this.live.add(sessionId);
    else this.live.delete(sessionId);
    return outcome;
  }

  start(spec: StartSpec): Promise<StepOutcome> {
    return this.step({ op: "start", ...spec }, spec.sessionId, (spec.inputs?.length ?? 0) + 1);
  }

  resume(sessionId: string, input: unknown): Promise<StepOutcome> {
    return this.step({ op: "resume", sessionId, input }, sessionId, 1);
  }

  async close(sessionId: string): Promise<string> {
    if (!this.live.delete(sessionId) || !this.conn?.alive) return "";
    try {
      return (await this.conn.request({ op: "close", sessionId }, this.options.stepTimeoutMs + this.graceMs)) as string;
    } catch {
      return "";
    }
  }

  has(sessionId: string): boolean {
    return this.live.has(sessionId) && !!this.conn?.alive;
  }

  async invalidate(filePath: string): Promise<void> {
    if (this.conn?.alive) await this.conn.request({ op: "invalidate", filePath }, 10_000);
  }

  async stats() {
    const conn = await this.connection();
    return (await conn.request({ op: "stats" }, 30_000)) as { sessions: number; rss: number; heapUsed: number };
  }

  async shutdown(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    this.live.clear();
    if (!conn) return;
    conn.kill();
    await Promise.race([conn.proc.exited, Bun.sleep(2_000)]);
  }
}
