// Sessions: start a sheet, resume it with validated input, cancel, time out, survive restarts (by replaying inputs).
import type { Logger } from "bunker/core";
import type { Executor, StepOutcome } from "./drivers/executor";
import { errors } from "./errors";
import type { SheetListing, SheetLoader } from "./loader";
import type { Static } from "@sinclair/typebox";
import type { ExecutionResponse, SessionStatus } from "./schema";
import { sessionKey, type SessionRecord, type SessionStore } from "./store";
import { checkJsonSize, validateInput } from "./validate";

/** What every execution route answers: `{status, session_id, ui?, html, result?, error?}` plus where it runs. */
export type ExecutionView = Static<typeof ExecutionResponse>;

export interface ServiceOptions {
  idleTimeoutMs: number;
  maxSessions: number;
  retainFinishedMs: number;
  debug: boolean;
}

interface LiveSession extends SessionRecord {
  /** sessionKey(owner, id): the session's name in `live` and in the executor. */
  key: string;
  busy: boolean;
  lastActive: number;
  stack?: string;
  cancelRequested?: boolean;
}

const FINISHED: ReadonlySet<SessionStatus> = new Set(["completed", "error", "cancelled"]);
/** What a start's params and each window's input may weigh, as JSON. */
export const MAX_PARAMS_BYTES = 256 * 1024;
export const MAX_INPUT_BYTES = 256 * 1024;

export class CalcService {
  /** Sessions that are open (waiting or running), by sessionKey; finished ones live in the database only. */
  private readonly live = new Map<string, LiveSession>();

  constructor(
    private readonly executor: Executor,
    private readonly loader: SheetLoader,
    private readonly store: SessionStore,
    private readonly options: ServiceOptions,
    private readonly log: Logger,
  ) {}

  get openSessions(): number {
    return this.live.size;
  }

  listSheets(): SheetListing[] {
    return this.loader.list();
  }

  async start(owner: string, body: { file_path: string; func_name: string; session_id?: string; params?: Record<string, unknown> }): Promise<ExecutionView> {
    const params = body.params ?? {};
    checkJsonSize("params", params, MAX_PARAMS_BYTES);
    const filePath = this.loader.resolve(body.file_path);
    // Ids are per owner: another user's session of the same id is neither in the way nor revealed.
    const id = body.session_id ?? crypto.randomUUID();
    const key = sessionKey(owner, id);
    const exists = () => errors.SESSION_EXISTS(`session ${id} already exists`, { session_id: id });
    if (this.live.has(key)) throw exists();
    if (this.live.size >= this.options.maxSessions) {
      throw errors.TOO_MANY_SESSIONS(`${this.live.size} sessions are open; finish or cancel some first`);
    }
    const now = new Date().toISOString();
    const s: LiveSession = {
      key, id, owner, filePath, funcName: body.func_name, params, inputs: [], status: "running", ui: null, html: "",
      result: undefined, error: null, createdAt: now, updatedAt: now, busy: true, lastActive: Date.now(),
    };
    // Claim the id before the first await so a concurrent start with the same id is refused.
    this.live.set(key, s);
    try {
      if (await this.store.exists(owner, id)) throw exists();
      const outcome = await this.executor.start({ sessionId: key, filePath, funcName: s.funcName, params: s.params, inputs: [] });
      await this.apply(s, outcome, false);
      await this.store.insert(s);
    } catch (err) {
      this.live.delete(key);
      throw err;
    }
    return this.release(s);
  }

  async resume(owner: string, id: string, userInput: Record<string, unknown>): Promise<ExecutionView> {
    checkJsonSize("user_input", userInput, MAX_INPUT_BYTES);
    const s = await this.find(owner, id);
    if (s.busy) throw errors.SESSION_BUSY(`session ${id} is running a step; wait for it to finish`, { session_id: id });
    if (s.status !== "waiting_input" || !s.ui) {
      throw errors.SESSION_NOT_WAITING(`session ${id} is ${s.status}, not waiting for input`, { session_id: id, status: s.status });
    }
    const checked = validateInput(s.ui, userInput);
    if (!checked.ok) {
      throw errors.INVALID_INPUT(`the input does not fit the window "${s.ui.title}"`, { session_id: id, fields: checked.fields });
    }
    s.busy = true;
    s.status = "running";
    const inputs = [...s.inputs, checked.values];
    try {
      let outcome: StepOutcome;
      let replayed = false;
      if (this.executor.has(s.key)) {
        outcome = await this.executor.resume(s.key, checked.values);
      } else {
        // After a restart (or a worker restart) the generator is gone: run the sheet again through the recorded inputs.
        this.log.debug("replaying session", { session_id: id, owner, inputs: inputs.length });
        outcome = await this.executor.start({ sessionId: s.key, filePath: s.filePath, funcName: s.funcName, params: s.params, inputs });
        replayed = true;
      }
      s.inputs = inputs;
      await this.apply(s, outcome, replayed);
      await this.store.update(s);
    } catch (err) {
      s.busy = false;
      if (s.cancelRequested) {
        s.status = "cancelled";
        s.ui = null;
        s.updatedAt = new Date().toISOString();
        this.live.delete(s.key);
        await this.store.update(s).catch(() => undefined);
      } else {
        s.status = "waiting_input";
      }
      throw err;
    }
    return this.release(s);
  }

  async cancel(owner: string, id: string): Promise<ExecutionView> {
    const s = await this.find(owner, id);
    if (FINISHED.has(s.status)) return this.view(s);
    if (s.busy) {
      // The running step finishes first; apply() then closes the generator.
      s.cancelRequested = true;
      s.status = "cancelled";
      return this.view(s);
    }
    await this.close(s, null);
    return this.view(s);
  }

  async status(owner: string, id: string): Promise<ExecutionView> {
    return this.view(await this.find(owner, id));
  }

  async invalidate(filePath: string): Promise<{ file_path: string; invalidated: true }> {
    const real = this.loader.resolve(filePath);
    await this.executor.invalidate(real);
    return { file_path: real, invalidated: true };
  }

  /** Closes sessions idle past the timeout (running their finally blocks) and prunes old finished ones. */
  async sweep(now = Date.now()): Promise<void> {
    const cutoff = now - this.options.idleTimeoutMs;
    const message = `closed after ${this.options.idleTimeoutMs} ms without input`;
    for (const s of [...this.live.values()]) {
      if (!s.busy && s.status === "waiting_input" && s.lastActive < cutoff) await this.close(s, message);
    }
    const iso = new Date(now).toISOString();
    await this.store.expireWaiting(new Date(cutoff).toISOString(), new Set(this.live.keys()), iso, message);
    await this.store.pruneFinished(new Date(now - this.options.retainFinishedMs).toISOString());
  }

  async shutdown(): Promise<void> {
    this.live.clear();
    await this.executor.shutdown();
  }

  private async close(s: LiveSession, reason: string | null): Promise<void> {
    s.busy = true;
    try {
      s.html += await this.executor.close(s.key);
    } finally {
      s.status = "cancelled";
      s.ui = null;
      s.error = reason;
      s.updatedAt = new Date().toISOString();
      await this.store.update(s);
      s.busy = false;
      this.live.delete(s.key);
    }
  }

  /** The caller's session of that id; only the caller's own are looked at, so others' ids read as missing. */
  private async find(owner: string, id: string): Promise<LiveSession> {
    const key = sessionKey(owner, id);
    let s = this.live.get(key);
    if (!s) {
      const record = await this.store.get(owner, id);
      if (!record) throw errors.SESSION_NOT_FOUND(`no session ${id}`, { session_id: id });
      s = this.live.get(key) ?? { ...record, key, busy: false, lastActive: Date.parse(record.updatedAt) };
      if (s.status === "waiting_input" && !this.live.has(key)) this.live.set(key, s);
    }
    return s;
  }

  private async apply(s: LiveSession, outcome: StepOutcome, replaced: boolean): Promise<void> {
    s.html = replaced ? outcome.html : s.html + outcome.html;
    s.status = outcome.status;
    s.ui = outcome.status === "waiting_input" ? outcome.ui : null;
    s.result = outcome.status === "completed" ? outcome.result : undefined;
    s.error = outcome.status === "error" ? outcome.error : null;
    s.stack = outcome.status === "error" ? outcome.stack : undefined;
    s.updatedAt = new Date().toISOString();
    s.lastActive = Date.now();
    if (outcome.status === "error") this.log.info("sheet failed", { session_id: s.id, file_path: s.filePath, error: outcome.error });
    if (s.cancelRequested) {
      if (outcome.status === "waiting_input") s.html += await this.executor.close(s.key);
      s.status = "cancelled";
      s.ui = null;
    }
  }

  /** Ends a step: frees the session and drops finished sessions from memory. */
  private release(s: LiveSession): ExecutionView {
    s.busy = false;
    if (FINISHED.has(s.status)) this.live.delete(s.key);
    return this.view(s);
  }

  private view(s: LiveSession): ExecutionView {
    const v: ExecutionView = {
      status: s.status,
      session_id: s.id,
      html: s.html,
      file_path: s.filePath,
      func_name: s.funcName,
      ui_steps: s.inputs.length,
    };
    if (s.ui && s.status === "waiting_input") v.ui = s.ui;
    if (s.result !== undefined) v.result = s.result;
    if (s.error) v.error = s.error;
    if (s.error && s.stack && this.options.debug) v.error_stack = s.stack;
    return v;
  }
}
