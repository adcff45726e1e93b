// Drives sheet generators: runs each to its next window (collecting HTML on the way), resumes, replays, closes.
// The in-process executor uses it directly; the worker process wraps it in a JSON-lines protocol.
import { escapeHtml, isHtml, isWindow, plainWindow, type CalcWindow } from "./calc";
import { errors } from "./errors";
import type { SheetLoader } from "./loader";

export interface StartSpec {
  sessionId: string;
  filePath: string;
  funcName: string;
  params: Record<string, unknown>;
  /** Inputs already given (a replay after a restart): fed to the first windows without pausing. */
  inputs?: unknown[];
}

export type StepOutcome =
  | { status: "waiting_input"; html: string; ui: CalcWindow }
  | { status: "completed"; html: string; result?: unknown }
  | { status: "error"; html: string; error: string; stack?: string };

export interface RunnerOptions {
  stepTimeoutMs: number;
  /** HTML one session may accumulate before it is stopped. */
  maxHtmlBytes?: number;
}

type SheetGenerator = {
  next(value?: unknown): Promise<IteratorResult<unknown, unknown>> | IteratorResult<unknown, unknown>;
  return(value?: unknown): Promise<IteratorResult<unknown, unknown>> | IteratorResult<unknown, unknown>;
};

const FINALLY_YIELD_LIMIT = 1000;

class StepTimeout extends Error {}

function isGenerator(value: unknown): value is SheetGenerator {
  const v = value as Record<string, unknown> | null;
  return !!v && typeof v === "object" && typeof v.next === "function" && typeof v.return === "function";
}

function toJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return String(value);
  }
}

function withTimeout<T>(promise: Promise<T> | T, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeout(`the step ran longer than ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/** Runs finally blocks of a generator we give up on; after a timeout it may still be running, so the return queues. */
function closeQuietly(gen: SheetGenerator): void {
  try {
    void Promise.resolve(gen.return(undefined)).catch(() => undefined);
  } catch {
    // a synchronous generator that is still running refuses; nothing more to do
  }
}

export class SheetRunner {
  private readonly live = new Map<string, SheetGenerator>();
  private readonly busy = new Set<string>();
  private readonly maxHtmlBytes: number;

  constructor(
    private readonly loader: SheetLoader,
    private readonly options: RunnerOptions,
  ) {
    this.maxHtmlBytes = options.maxHtmlBytes ?? 5 * 1024 * 1024;
  }

  get size(): number {
    return this.live.size;
  }

  has(sessionId: string): boolean {
    return this.live.has(sessionId);
  }

  /** Loads the sheet and runs it to its first unanswered window. Load problems throw; sheet errors are outcomes. */
  async start(spec: StartSpec): Promise<StepOutcome> {
    if (this.live.has(spec.sessionId) || this.busy.has(spec.sessionId)) {
      throw errors.SESSION_EXISTS(`session ${spec.sessionId} is already running`);
    }
    const fn = await this.loader.load(spec.filePath, spec.funcName);
    this.busy.add(spec.sessionId);
    try {
      let produced: unknown;
      try {
        produced = fn(structuredClone(spec.params ?? {}));
      } catch (err) {
        return this.failure("", err);
      }
      if (!isGenerator(produced)) {
        // A plain (async) function: its value is the result.
        try {
          const value = await withTimeout(produced, this.options.stepTimeoutMs);
          return isHtml(value) ? { status: "completed", html: value.html } : { status: "completed", html: "", result: toJson(value) };
        } catch (err) {
          return this.failure("", err);
        }
      }
      const replay = [...(spec.inputs ?? [])];
      return await this.drive(spec.sessionId, produced, undefined, replay);
    } finally {
      this.busy.delete(spec.sessionId);
    }
  }

  /** Sends the validated input to the window the session waits on and runs to the next window or the end. */
  async resume(sessionId: string, input: unknown): Promise<StepOutcome> {
    const gen = this.live.get(sessionId);
    if (!gen) throw errors.SESSION_NOT_FOUND(`session ${sessionId} is not running here`);
    if (this.busy.has(sessionId)) throw errors.SESSION_BUSY(`session ${sessionId} is already running a step`);
    this.busy.add(sessionId);
    try {
      return await this.drive(sessionId, gen, input, []);
    } finally {
      this.busy.delete(sessionId);
    }
  }

  /** Closes the generator so its finally blocks run; returns any HTML they yield. */
  async close(sessionId: string): Promise<string> {
    const gen = this.live.get(sessionId);
    if (!gen) return "";
    this.live.delete(sessionId);
    let html = "";
    try {
      let r = await withTimeout(gen.return(undefined), this.options.stepTimeoutMs);
      for (let n = 0; !r.done && n < FINALLY_YIELD_LIMIT; n++) {
        if (isHtml(r.value)) html += r.value.html;
        r = await withTimeout(gen.next(undefined), this.options.stepTimeoutMs);
      }
    } catch {
      // An error or a hang while cleaning up ends the cleanup, not the server.
    }
    return html;
  }

  invalidate(filePath: string): boolean {
    return this.loader.invalidate(filePath);
  }

  private async drive(sessionId: string, gen: SheetGenerator, first: unknown, replay: unknown[]): Promise<StepOutcome> {
    this.live.set(sessionId, gen);
    const budget = this.options.stepTimeoutMs * (replay.length + 1);
    const deadline = Date.now() + budget;
    let html = "";
    let send = first;
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new StepTimeout(`the step ran longer than ${budget} ms`);
        const r = await withTimeout(gen.next(send), remaining);
        send = undefined;
        if (r.done) {
          this.live.delete(sessionId);
          if (isHtml(r.value)) return { status: "completed", html: html + r.value.html };
          return { status: "completed", html, result: toJson(r.value) };
        }
        const value = r.value;
        if (isWindow(value)) {
          if (replay.length) {
            send = replay.shift();
            continue;
          }
          return { status: "waiting_input", html, ui: plainWindow(value) };
        }
        if (isHtml(value)) html += value.html;
        else if (typeof value === "string" || typeof value === "number") html += `<p>${escapeHtml(String(value))}</p>`;
        else if (value !== undefined && value !== null) {
          throw new TypeError(`the sheet yielded ${Object.prototype.toString.call(value)}: yield html\`...\`, a string or ui.window(...)`);
        }
        if (html.length > this.maxHtmlBytes) throw new RangeError(`the sheet produced more than ${this.maxHtmlBytes} bytes of HTML in one step`);
      }
    } catch (err) {
      this.live.delete(sessionId);
      closeQuietly(gen);
      return this.failure(html, err);
    }
  }

  private failure(html: string, err: unknown): StepOutcome {
    const error = err instanceof Error ? err.message : String(err);
    const stack = err instanceof Error ? err.stack : undefined;
    return stack ? { status: "error", html, error, stack } : { status: "error", html, error };
  }
}
