// The isolated executor's worker: `bun plugins/uzoncalc/worker.ts`, one JSON request per stdin line, one JSON reply
// per stdout line ({id, ok, value} or {id, ok: false, error}). Sheets' own console output goes to stderr.
import { BunkerError, errors, toWireError } from "./errors";
import { SheetLoader } from "./loader";
import { SheetRunner } from "./runner";

export type WorkerRequest =
  | { id: number; op: "init"; safeDirs: string[]; stepTimeoutMs: number; maxHtmlBytes?: number }
  | { id: number; op: "start"; sessionId: string; filePath: string; funcName: string; params: Record<string, unknown>; inputs?: unknown[] }
  | { id: number; op: "resume"; sessionId: string; input: unknown }
  | { id: number; op: "close"; sessionId: string }
  | { id: number; op: "invalidate"; filePath: string }
  | { id: number; op: "stats" };

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { status: number; code: string; message: string; details?: Record<string, unknown> } };

const writeOut = process.stdout.write.bind(process.stdout);
const toStderr = (...args: unknown[]) => void process.stderr.write(args.map((a) => (typeof a === "string" ? a : Bun.inspect(a))).join(" ") + "\n");
console.log = console.info = console.debug = console.warn = console.error = console.trace = toStderr;
process.stdout.write = ((chunk: string | Uint8Array) => process.stderr.write(chunk)) as typeof process.stdout.write;

let runner: SheetRunner | null = null;

function send(reply: WorkerReply): void {
  writeOut(JSON.stringify(reply) + "\n");
}

async function handle(req: WorkerRequest): Promise<unknown> {
  if (req.op === "init") {
    runner = new SheetRunner(new SheetLoader(req.safeDirs), { stepTimeoutMs: req.stepTimeoutMs, maxHtmlBytes: req.maxHtmlBytes });
    return { pid: process.pid };
  }
  if (!runner) throw errors.WORKER_ERROR("the worker got a request before init");
  switch (req.op) {
    case "start":
      return runner.start(req);
    case "resume":
      return runner.resume(req.sessionId, req.input);
    case "close":
      return runner.close(req.sessionId);
    case "invalidate":
      return runner.invalidate(req.filePath);
    case "stats": {
      Bun.gc(true);
      const m = process.memoryUsage();
      return { sessions: runner.size, rss: m.rss, heapUsed: m.heapUsed };
    }
  }
}

async function serve(line: string): Promise<void> {
  let req: WorkerRequest;
  try {
    req = JSON.parse(line) as WorkerRequest;
  } catch {
    toStderr(`uzoncalc worker: ignoring a line that is not JSON: ${line.slice(0, 200)}`);
    return;
  }
  try {
    send({ id: req.id, ok: true, value: await handle(req) });
  } catch (err) {
    const e = toWireError(err instanceof BunkerError ? err : errors.WORKER_ERROR((err as Error)?.message ?? String(err)));
    send({ id: req.id, ok: false, error: e });
  }
}

process.on("uncaughtException", (err) => toStderr("uzoncalc worker: uncaught", err));
process.on("unhandledRejection", (err) => toStderr("uzoncalc worker: unhandled rejection", err));

// Requests are served concurrently (different sessions step in parallel); the runner refuses two steps on one session.
for await (const line of console) {
  if (line.trim()) void serve(line);
}
// stdin closed: the server is gone, and so are the sessions' callers.
process.exit(0);
