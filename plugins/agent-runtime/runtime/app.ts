// AgentRuntimeApp: a standalone Bun HTTP app that serves an agent on the AgentCore contract
// (POST /invocations, GET /ping on port 8080). It runs inside sandboxes and needs nothing from the Bunker core.
import type { Server } from "bun";
import { resolveRuntimeConfig, type RuntimeConfig } from "./config";
import { buildContext, currentContext, runWithContext, SESSION_HEADER, type RequestContext } from "./context";
import { isIterator, sseStream, type AnyIterator } from "./sse";

export const PingStatus = { Healthy: "Healthy", HealthyBusy: "HealthyBusy" } as const;
export type PingStatus = (typeof PingStatus)[keyof typeof PingStatus];

/** The agent's function: a value, a Promise, a Generator or an AsyncGenerator. */
export type Entrypoint<TRequest = any> = (request: TRequest, context: RequestContext) => unknown;
export type PingHandler = () => PingStatus | Record<string, unknown> | Promise<PingStatus | Record<string, unknown>>;
export type Next = (request?: Request) => Promise<Response>;
/** Registered first = outermost: it sees the request first and the response last. */
export type Middleware = (request: Request, next: Next) => Response | Promise<Response>;

export interface AgentRuntimeAppOptions {
  config?: Partial<RuntimeConfig>;
  debug?: boolean;
}

export interface InvocationResponse {
  result: unknown;
  status: "success";
  duration: number;
  metadata: { request_id: string; session_id?: string };
}

export interface AsyncTaskInfo {
  active_count: number;
  running_jobs: { id: number; name: string; duration: number; metadata?: Record<string, unknown> }[];
}

type Handler = (request: Request) => Promise<Response>;
type AnyServer = Server<unknown>;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
const json = (body: unknown, status = 200, headers?: HeadersInit) => Response.json(body, { status, headers });
const TOO_LARGE = Symbol("too large");

async function readBody(request: Request, limit: number): Promise<string | typeof TOO_LARGE> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) return TOO_LARGE;
  if (request.headers.has("content-length")) return request.text(); // Bun enforces the declared length
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return TOO_LARGE;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function errorBody(error: unknown, debug: boolean): Record<string, unknown> {
  const err = error instanceof Error ? error : new Error(String(error));
  const body: Record<string, unknown> = { error: err.message, error_type: err.name || "Error" };
  if (debug && err.stack) body.stack = err.stack;
  return body;
}

export class AgentRuntimeApp {
  readonly config: RuntimeConfig;
  private entry: Entrypoint | undefined;
  private pingHandler: PingHandler | undefined;
  private readonly middlewares: Middleware[] = [];
  private activeInvocations = 0;
  private readonly tasks = new Map<number, { name: string; started: number; metadata?: Record<string, unknown> }>();
  private nextTaskId = 1;
  private lastStatus: PingStatus = PingStatus.Healthy;
  private lastStatusChange = Math.floor(Date.now() / 1000);
  private readonly counters = { invocations: 0, errors: 0, streams: 0, durationSeconds: 0 };
  private server: AnyServer | undefined;

  constructor(options: AgentRuntimeAppOptions = {}) {
    this.config = resolveRuntimeConfig({ ...options.config, ...(options.debug !== undefined ? { debug: options.debug } : {}) });
  }

  /** Registers the agent; returns the function so it can be used as `export const agent = app.entrypoint(...)`. */
  entrypoint<F extends Entrypoint>(fn: F): F {
    this.entry = fn;
    return fn;
  }

  ping<F extends PingHandler>(fn: F): F {
    this.pingHandler = fn;
    return fn;
  }

  middleware<F extends Middleware>(fn: F): F {
    this.middlewares.push(fn);
    return fn;
  }

  /** The context of the invocation running now (like the seed's `app.context`). */
  get context(): RequestContext | undefined {
    return currentContext();
  }

  // ---- busy tracking (GET /ping reports HealthyBusy while anything runs) ----

  /** Wraps fn so that /ping reports HealthyBusy while any call of it runs. */
  asyncTask<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, name = fn.name || "task"): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const id = this.addAsyncTask(name);
      try {
        return await fn(...args);
      } finally {
        this.completeAsyncTask(id);
      }
    };
  }

  addAsyncTask(name: string, metadata?: Record<string, unknown>): number {
    const id = this.nextTaskId++;
    this.tasks.set(id, { name, started: Date.now(), metadata });
    this.noteStatus(this.automaticStatus());
    return id;
  }

  completeAsyncTask(id: number): boolean {
    const removed = this.tasks.delete(id);
    this.noteStatus(this.automaticStatus());
    return removed;
  }

  getAsyncTaskInfo(): AsyncTaskInfo {
    const now = Date.now();
    return {
      active_count: this.tasks.size,
      running_jobs: [...this.tasks].map(([id, t]) => ({ id, name: t.name, duration: (now - t.started) / 1000, metadata: t.metadata })),
    };
  }

  private automaticStatus(): PingStatus {
    return this.activeInvocations > 0 || this.tasks.size > 0 ? PingStatus.HealthyBusy : PingStatus.Healthy;
  }

  private noteStatus(status: PingStatus): void {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.lastStatusChange = Math.floor(Date.now() / 1000);
  }

  private setActive(delta: number): void {
    this.activeInvocations += delta;
    this.noteStatus(this.automaticStatus());
  }

  // ---- HTTP ----

  /** Handles one request; pass Bun's server so streams can lift the idle timeout. Usable as Bun.serve's fetch. */
  readonly fetch = (request: Request, server?: AnyServer): Promise<Response> => {
    const started = performance.now();
    const route = (req: Request) => this.route(req, server);
    const run = this.middlewares.length === 0 ? route : this.compose(route);
    const result = run(request).then((response) => this.withCors(request, response));
    if (!this.config.debug) return result;
    return result.then((response) => {
      const ms = (performance.now() - started).toFixed(1);
      console.error(`[agent] ${request.method} ${new URL(request.url).pathname} ${response.status} ${ms}ms`);
      return response;
    });
  };

  /** Same as fetch, for tests: `await app.handle(new Request("http://localhost/invocations", ...))`. */
  readonly handle = (request: Request): Promise<Response> => this.fetch(request);

  /** Starts the server (port/host default to the config: 8080 on 0.0.0.0). */
  run(options: { port?: number; host?: string } = {}): AnyServer {
    const port = options.port ?? this.config.port;
    const hostname = options.host ?? this.config.host;
    this.server = Bun.serve({
      port,
      hostname,
      // Bun's own limit stays above ours so the client gets our 413 body.
      maxRequestBodySize: Math.max(this.config.maxRequestSize * 2, 1024 * 1024),
      fetch: (request, server) => this.fetch(request, server),
    });
    if (this.config.debug) console.error(`[agent] listening on http://${hostname}:${this.server.port}`);
    return this.server;
  }

  async stop(closeActiveConnections = false): Promise<void> {
    await this.server?.stop(closeActiveConnections);
    this.server = undefined;
  }

  private compose(last: Handler): Handler {
    return this.middlewares.reduceRight<Handler>(
      (next, mw) => async (request) => mw(request, (req?: Request) => next(req ?? request)),
      last,
    );
  }

  private withCors(request: Request, response: Response): Response {
    const origin = request.headers.get("origin");
    const allowed = this.config.corsOrigins;
    if (!origin || allowed.length === 0) return response;
    if (!allowed.includes("*") && !allowed.includes(origin)) return response;
    try {
      response.headers.set("access-control-allow-origin", allowed.includes("*") ? "*" : origin);
      if (!allowed.includes("*")) response.headers.append("vary", "Origin");
    } catch {
      /* immutable headers (a Response from fetch passed through): leave them */
    }
    return response;
  }

  private async route(request: Request, server?: AnyServer): Promise<Response> {
    const path = new URL(request.url).pathname;
    const method = request.method;
    if (method === "OPTIONS" && this.config.corsOrigins.length > 0) {
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-methods": "GET, POST, OPTIONS",
          "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
          "access-control-max-age": "600",
        },
      });
    }
    if (path === "/invocations") {
      if (method !== "POST") return json({ error: "Method Not Allowed" }, 405, { allow: "POST" });
      return this.invoke(request, server);
    }
    if (path === "/ping") {
      if (method !== "GET" && method !== "HEAD") return json({ error: "Method Not Allowed" }, 405, { allow: "GET" });
      return this.handlePing();
    }
    if (path === "/metrics" && this.config.enableMetrics && method === "GET") return this.metrics();
    return json({ error: "Not Found" }, 404);
  }

  private async handlePing(): Promise<Response> {
    let status = this.automaticStatus();
    let extra: Record<string, unknown> = {};
    if (this.pingHandler) {
      let custom: Awaited<ReturnType<PingHandler>>;
      try {
        custom = await this.pingHandler();
      } catch (error) {
        return json({ status: "Unhealthy", ...errorBody(error, this.config.debug) }, 503);
      }
      const claimed = typeof custom === "string" ? custom : custom?.status;
      const normalized = typeof claimed === "string" ? claimed.toLowerCase() : undefined;
      if (normalized === "healthybusy") status = PingStatus.HealthyBusy;
      else if (normalized === "healthy") status = PingStatus.Healthy;
      if (custom && typeof custom === "object") extra = custom;
    }
    this.noteStatus(status);
    return json({ ...extra, status, time_of_last_update: this.lastStatusChange });
  }

  private metrics(): Response {
    const c = this.counters;
    const lines = [
      `agent_invocations_total ${c.invocations}`,
      `agent_invocation_errors_total ${c.errors}`,
      `agent_streams_total ${c.streams}`,
      `agent_invocation_duration_seconds_sum ${c.durationSeconds.toFixed(6)}`,
      `agent_active_invocations ${this.activeInvocations}`,
      `agent_async_tasks ${this.tasks.size}`,
    ];
    return new Response(lines.join("\n") + "\n", { headers: { "content-type": "text/plain; version=0.0.4" } });
  }

  private async invoke(request: Request, server?: AnyServer): Promise<Response> {
    const entry = this.entry;
    if (!entry) return json({ error: "No entrypoint registered", error_type: "ConfigurationError" }, 500);
    const raw = await readBody(request, this.config.maxRequestSize);
    if (raw === TOO_LARGE) {
      return json({ error: `Request body exceeds ${this.config.maxRequestSize} bytes`, error_type: "PayloadTooLarge" }, 413);
    }
    let body: unknown;
    try {
      body = raw === "" ? {} : JSON.parse(raw);
    } catch {
      return json({ error: "Invalid JSON" }, 400);
    }
    const abort = new AbortController();
    const onClientGone = () => abort.abort(new DOMException("client disconnected", "AbortError"));
    const context = buildContext(request, body, abort.signal);
    this.counters.invocations++;
    this.setActive(+1);
    const started = performance.now();
    let streaming = false;
    let watching = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      let result = runWithContext(context, () => entry(body, context));
      if (isThenable(result) || isIterator(result)) {
        // Work that outlives this tick: watch for the client leaving, and lift Bun's idle timeout (ours applies).
        watching = true;
        request.signal.addEventListener("abort", onClientGone, { once: true });
        server?.timeout(request, 0);
      }
      if (isThenable(result)) {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = new Error(`Invocation timed out after ${this.config.timeout}s`);
            err.name = "TimeoutError";
            abort.abort(err);
            reject(err);
          }, this.config.timeout * 1000);
        });
        result = await Promise.race([result, timeout]);
        clearTimeout(timer);
      }
      if (result instanceof Response) return result;
      if (isIterator(result)) {
        streaming = true;
        return this.stream(request, result, context, abort, onClientGone);
      }
      const duration = (performance.now() - started) / 1000;
      this.counters.durationSeconds += duration;
      const metadata: InvocationResponse["metadata"] = { request_id: context.requestId };
      if (context.sessionId) metadata.session_id = context.sessionId;
      const response: InvocationResponse = { result: result ?? null, status: "success", duration, metadata };
      return json(response, 200, this.echoHeaders(context));
    } catch (error) {
      clearTimeout(timer);
      this.counters.errors++;
      const status = error instanceof Error && error.name === "TimeoutError" && abort.signal.reason === error ? 504 : 500;
      if (this.config.debug) console.error("[agent] invocation failed:", error);
      return json(errorBody(error, this.config.debug), status, this.echoHeaders(context));
    } finally {
      if (!streaming) {
        if (watching) request.signal.removeEventListener("abort", onClientGone);
        this.setActive(-1);
      }
    }
  }

  private echoHeaders(context: RequestContext): Record<string, string> {
    return context.sessionId ? { [SESSION_HEADER]: context.sessionId } : {};
  }

  private stream(request: Request, iterator: AnyIterator, context: RequestContext, abort: AbortController, onClientGone: () => void): Response {
    this.counters.streams++;
    const sse = sseStream(iterator, {
      context,
      pingIntervalMs: this.config.ssePingIntervalMs,
      debug: this.config.debug,
      onCancel: onClientGone,
      onClose: (reason) => {
        request.signal.removeEventListener("abort", onClientGone);
        if (reason === "error") this.counters.errors++;
        this.setActive(-1);
      },
    });
    // The client leaving is seen either as the stream's cancel or as the request's abort, whichever comes first.
    request.signal.addEventListener("abort", sse.cancel, { once: true });
    abort.signal.addEventListener("abort", sse.cancel, { once: true });
    return new Response(sse.stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
        ...this.echoHeaders(context),
      },
    });
  }
}
