// The typed client for Bunker's agent host: sessions (one sandbox each), templates, invocations (JSON and SSE).
import {
  AgentClientError,
  AuthenticationError,
  errorFromResponse,
  InvocationError,
  NetworkError,
  SessionNotFoundError,
  TemplateNotFoundError,
  type ErrorPayload,
  type Operation,
} from "./client-errors";
import type { AgentTemplate, InvocationResponse, PingResponse, Session, SessionStatus } from "./schema";

export * from "./client-errors";
export type { AgentTemplate, InvocationResponse, PingResponse, Session, SessionStatus } from "./schema";

export interface ClientConfig {
  baseUrl?: string;
  /** Where the agent-runtime plugin is mounted (default /agent-runtime). */
  prefix?: string;
  /** Milliseconds per request (streams: until the response starts); default 300 000. */
  timeoutMs?: number;
  /** Retries after network errors (never after an HTTP answer). */
  maxRetries?: number;
  /** First backoff in milliseconds (default 1000); doubles each retry. */
  retryDelayMs?: number;
}

export interface AgentRuntimeClientOptions {
  apiKey?: string;
  baseUrl?: string;
  /** Milliseconds per request; overrides config.timeoutMs. */
  timeoutMs?: number;
  config?: ClientConfig;
}

export type InvocationRequest = string | Record<string, unknown>;

export interface SandboxConfig {
  timeoutSeconds?: number;
  envVars?: Record<string, string>;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  operation: Operation;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

const toBody = (request: InvocationRequest) => (typeof request === "string" ? { prompt: request } : request);

export class AgentRuntimeClient {
  readonly baseUrl: string;
  readonly prefix: string;
  readonly timeoutMs: number;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;

  constructor(options: AgentRuntimeClientOptions = {}) {
    const apiKey = options.apiKey ?? process.env.BUNKER_API_KEY;
    if (!apiKey) throw new AuthenticationError("No API key: pass apiKey or set BUNKER_API_KEY");
    this.apiKey = apiKey;
    const config = options.config ?? {};
    this.baseUrl = (options.baseUrl ?? config.baseUrl ?? process.env.BUNKER_BASE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    this.prefix = (config.prefix ?? "/agent-runtime").replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? config.timeoutMs ?? 300_000;
    this.maxRetries = config.maxRetries ?? 3;
    this.retryDelayMs = config.retryDelayMs ?? 1_000;
  }

  // ---- sessions ----

  async createSession(templateId: string, options: SandboxConfig = {}): Promise<SandboxSession> {
    const body = { template_id: templateId, timeout_seconds: options.timeoutSeconds, env_vars: options.envVars };
    const info = await this.json<Session>("/sessions", { method: "POST", body, operation: "create" });
    return new SandboxSession(this, info);
  }

  /** The session, or null when it does not exist. */
  async getSession(sandboxId: string): Promise<SandboxSession | null> {
    try {
      return new SandboxSession(this, await this.sessionInfo(sandboxId));
    } catch (error) {
      if (error instanceof SessionNotFoundError) return null;
      throw error;
    }
  }

  async listSessions(): Promise<SandboxSession[]> {
    const { sessions } = await this.json<{ sessions: Session[] }>("/sessions", { operation: "query" });
    return sessions.map((s) => new SandboxSession(this, s));
  }

  async closeSession(sandboxId: string): Promise<void> {
    await this.json(`/sessions/${encodeURIComponent(sandboxId)}`, { method: "DELETE", operation: "operate" });
  }

  async closeAllSessions(): Promise<number> {
    const { closed } = await this.json<{ closed: number }>("/sessions", { method: "DELETE", operation: "operate" });
    return closed;
  }

  // ---- templates ----

  async listTemplates(filter: { tags?: string[]; name?: string } = {}): Promise<AgentTemplate[]> {
    const query = new URLSearchParams();
    if (filter.tags?.length) query.set("tags", filter.tags.join(","));
    if (filter.name) query.set("name", filter.name);
    const qs = query.size > 0 ? `?${query}` : "";
    return (await this.json<{ templates: AgentTemplate[] }>(`/templates${qs}`, { operation: "query" })).templates;
  }

  async getTemplate(templateId: string): Promise<AgentTemplate> {
    try {
      return await this.json<AgentTemplate>(`/templates/${encodeURIComponent(templateId)}`, { operation: "query" });
    } catch (error) {
      if (error instanceof AgentClientError && error.status === 404 && !(error instanceof TemplateNotFoundError)) {
        throw new TemplateNotFoundError(error.message, { status: 404, errorCode: error.errorCode });
      }
      throw error;
    }
  }

  async templateExists(templateId: string): Promise<boolean> {
    return this.getTemplate(templateId).then(
      () => true,
      (error) => (error instanceof TemplateNotFoundError ? false : Promise.reject(error)),
    );
  }

  // ---- one-shot invocations ----

  /** Invokes the agent: in the given session, or in a fresh one the host creates and closes. */
  async invokeAgent(templateId: string, request: InvocationRequest, options: { sandboxId?: string; timeoutMs?: number } = {}): Promise<InvocationResponse> {
    const path = options.sandboxId
      ? `/sessions/${encodeURIComponent(options.sandboxId)}/invocations`
      : `/templates/${encodeURIComponent(templateId)}/invocations`;
    return this.json<InvocationResponse>(path, { method: "POST", body: toBody(request), operation: "invoke", timeoutMs: options.timeoutMs });
  }

  /** Streams the agent's chunks (parsed JSON of each SSE data frame); breaking out of the loop disconnects. */
  invokeAgentStream(templateId: string, request: InvocationRequest, options: { sandboxId?: string } = {}): AsyncGenerator<unknown> {
    const path = options.sandboxId
      ? `/sessions/${encodeURIComponent(options.sandboxId)}/invocations`
      : `/templates/${encodeURIComponent(templateId)}/invocations`;
    return this.stream(path, toBody(request));
  }

  // ---- plumbing (used by SandboxSession) ----

  /** @internal */
  sessionInfo(sandboxId: string): Promise<Session> {
    return this.json<Session>(`/sessions/${encodeURIComponent(sandboxId)}`, { operation: "query" });
  }

  /** @internal */
  async json<T>(path: string, options: RequestOptions): Promise<T> {
    const response = await this.send(path, options);
    if (!response.ok) throw errorFromResponse(response.status, await readPayload(response), options.operation);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** @internal */
  async *stream(path: string, body: unknown): AsyncGenerator<unknown> {
    const response = await this.send(path, { method: "POST", body, operation: "invoke", headers: { accept: "text/event-stream" } }, false);
    if (!response.ok) throw errorFromResponse(response.status, await readPayload(response), "invoke");
    if (!response.headers.get("content-type")?.includes("text/event-stream")) {
      // The agent answered with a plain value: yield its result once.
      yield ((await response.json()) as InvocationResponse).result;
      return;
    }
    yield* parseSse(response.body!);
  }

  private async send(path: string, options: RequestOptions, timeBody = true): Promise<Response> {
    const url = `${this.baseUrl}${this.prefix}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, ...options.headers };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new NetworkError(`${options.method ?? "GET"} ${path} timed out after ${timeoutMs} ms`)), timeoutMs);
      try {
        const response = await fetch(url, {
          method: options.method ?? "GET",
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: controller.signal,
          keepalive: true,
        });
        if (timeBody) {
          // Keep the timer running while the body is read, then stop it.
          const buffered = new Response(await response.arrayBuffer(), response);
          clearTimeout(timer);
          return buffered;
        }
        clearTimeout(timer);
        return response;
      } catch (error) {
        clearTimeout(timer);
        if (controller.signal.aborted) throw controller.signal.reason;
        if (attempt >= this.maxRetries) {
          throw new NetworkError(`${options.method ?? "GET"} ${url} failed: ${(error as Error).message}`, { cause: error });
        }
        await Bun.sleep(this.retryDelayMs * 2 ** attempt);
      }
    }
  }
}

async function readPayload(response: Response): Promise<ErrorPayload | undefined> {
  const text = await response.text();
  try {
    return JSON.parse(text) as ErrorPayload;
  } catch {
    return text ? { message: text } : undefined;
  }
}

/** Parses an SSE body into the data of each frame; an `event: error` frame throws InvocationError. */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replaceAll("\r\n", "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        if (data.length === 0) continue;
        const text = data.join("\n");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON: hand over the text */
        }
        if (event === "error") {
          const p = (parsed ?? {}) as { error?: string; error_type?: string };
          throw new InvocationError(p.error ?? String(text), { errorCode: p.error_type, details: p as Record<string, unknown> });
        }
        yield parsed;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

export class SandboxSession implements AsyncDisposable {
  private info: Session;
  private readonly fetchedAt = Date.now();

  constructor(
    private readonly client: AgentRuntimeClient,
    info: Session,
  ) {
    this.info = info;
  }

  get sandboxId(): string {
    return this.info.sandbox_id;
  }
  get sessionId(): string {
    return this.info.session_id;
  }
  get templateId(): string {
    return this.info.template_id;
  }
  /** Status as last seen (getStatus() asks the host). */
  get status(): SessionStatus {
    return this.info.status;
  }
  get isActive(): boolean {
    return this.info.status === "active";
  }
  get isPaused(): boolean {
    return this.info.status === "paused";
  }
  /** The agent's address through Bunker: `${hostUrl}/invocations`, `${hostUrl}/ping`. */
  get hostUrl(): string {
    return this.info.host_url;
  }
  get ageSeconds(): number {
    return (Date.now() - Date.parse(this.info.created_at)) / 1000;
  }
  get idleSeconds(): number {
    return this.info.idle_seconds + (Date.now() - this.fetchedAt) / 1000;
  }

  private path(suffix = ""): string {
    return `/sessions/${encodeURIComponent(this.info.session_id)}${suffix}`;
  }

  invoke(request: InvocationRequest, options?: { stream?: false; timeoutMs?: number }): Promise<InvocationResponse>;
  invoke(request: InvocationRequest, options: { stream: true }): AsyncGenerator<unknown>;
  invoke(request: InvocationRequest, options: { stream?: boolean; timeoutMs?: number } = {}): Promise<InvocationResponse> | AsyncGenerator<unknown> {
    if (options.stream) return this.client.stream(this.path("/invocations"), toBody(request));
    return this.client.json<InvocationResponse>(this.path("/invocations"), { method: "POST", body: toBody(request), operation: "invoke", timeoutMs: options.timeoutMs });
  }

  async ping(): Promise<PingResponse> {
    return this.client.json<PingResponse>(this.path("/ping"), { operation: "invoke" });
  }

  async pause(): Promise<void> {
    this.info = await this.client.json<Session>(this.path("/pause"), { method: "POST", operation: "operate" });
  }

  async resume(): Promise<void> {
    this.info = await this.client.json<Session>(this.path("/resume"), { method: "POST", operation: "operate" });
  }

  /** Extends the session's time to live. */
  async refresh(timeoutSeconds?: number): Promise<void> {
    const body = timeoutSeconds === undefined ? {} : { timeout_seconds: timeoutSeconds };
    this.info = await this.client.json<Session>(this.path("/refresh"), { method: "POST", body, operation: "operate" });
  }

  async getStatus(): Promise<SessionStatus> {
    try {
      this.info = await this.client.sessionInfo(this.info.session_id);
    } catch (error) {
      if (error instanceof SessionNotFoundError) return "closed";
      throw error;
    }
    return this.info.status;
  }

  async close(): Promise<void> {
    if (this.info.status === "closed") return;
    try {
      await this.client.closeSession(this.info.session_id);
    } catch (error) {
      if (!(error instanceof SessionNotFoundError)) throw error;
    }
    this.info = { ...this.info, status: "closed" };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toJSON(): Session {
    return this.info;
  }
}
