// The typed LiteBoxd client: the SDK of the LiteBoxd Python/Go SDKs in TypeScript. It speaks only the wire contract
// (WIRE.md), so it works against Bunker's liteboxd plugin and against a real LiteBoxd server alike. Every duration
// it takes is in milliseconds; it converts to the seconds the wire carries. The wire types come from schema.ts as
// types only, so this bundle (`bunker/liteboxd`) holds no server code.
import type {
  CreateTemplateRequest,
  ExecResultWire as ExecResult,
  ImportResultWire as ImportResult,
  ImportStrategy,
  LogsWire as LogsResult,
  PrepullStatus,
  PrepullWire as PrepullTask,
  RollbackWire as RollbackResult,
  SandboxOverrides,
  SandboxWire as Sandbox,
  TemplateListWire as TemplateListResult,
  TemplateVersionWire as TemplateVersion,
  TemplateWire as Template,
  UpdateTemplateRequest,
  VersionListWire as VersionListResult,
} from "./schema";

export type {
  CreateTemplateRequest, ExecResult, ImportResult, ImportStrategy, LogsResult, PrepullStatus, PrepullTask, RollbackResult,
  SandboxOverrides, Sandbox, TemplateListResult, TemplateVersion, Template, UpdateTemplateRequest, VersionListResult,
};
export type { FileSpec, FileSummary, SpecSummary, NetworkSpec, ProbeSpec, ResourceSpec, SandboxStatus, TemplateSpec } from "./schema";

export interface ExecOptions {
  /** How long the command may run, in ms (default 30 000); sent as whole seconds, rounded up. */
  timeoutMs?: number;
  /** Bunker extensions: extra environment and working directory. */
  env?: Record<string, string>;
  cwd?: string;
}

/** How long to wait and how often to look, in ms. */
export interface WaitOptions {
  timeoutMs?: number;
  pollIntervalMs?: number;
}

// ---- errors (the seed's classes) ----
export class LiteBoxdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class APIError extends LiteBoxdError {
  constructor(readonly statusCode: number, message: string, readonly code?: string) {
    super(`[${statusCode}] ${message}`);
  }
}
export class BadRequestError extends APIError {
  constructor(message = "Invalid request", code?: string) {
    super(400, message, code);
  }
}
export class UnauthorizedError extends APIError {
  constructor(message = "Unauthorized", code?: string) {
    super(401, message, code);
  }
}
export class NotFoundError extends APIError {
  constructor(message = "Resource not found", code?: string) {
    super(404, message, code);
  }
}
export class ConflictError extends APIError {
  constructor(message = "Resource already exists", code?: string) {
    super(409, message, code);
  }
}
export class InternalServerError extends APIError {
  constructor(message = "Internal server error", code?: string) {
    super(500, message, code);
  }
}
export class TimeoutError extends LiteBoxdError {}
export class SandboxFailedError extends LiteBoxdError {
  constructor(readonly sandboxId: string, message = "Sandbox failed to start") {
    super(`Sandbox ${sandboxId}: ${message}`);
  }
}
export class PrepullFailedError extends LiteBoxdError {
  constructor(readonly taskId: string, readonly error: string) {
    super(`Prepull task ${taskId} failed: ${error}`);
  }
}

/** Reads either LiteBoxd error shape: `{"error":"msg"}` or `{"error":{"code","message"}}`. */
function apiError(status: number, body: unknown): APIError {
  const e = (body as { error?: unknown } | null)?.error;
  const message = typeof e === "string" ? e : typeof e === "object" && e ? String((e as { message?: unknown }).message ?? "") : "";
  const code = typeof e === "object" && e ? String((e as { code?: unknown }).code ?? "") || undefined : undefined;
  const text = message || `HTTP ${status}`;
  if (status === 400) return new BadRequestError(text, code);
  if (status === 401) return new UnauthorizedError(text, code);
  if (status === 404) return new NotFoundError(text, code);
  if (status === 409) return new ConflictError(text, code);
  if (status === 500) return new InternalServerError(text, code);
  return new APIError(status, text, code);
}

export interface LiteBoxdClientOptions {
  /** e.g. http://localhost:8080/api/v1 (the default). */
  baseUrl?: string;
  authToken?: string;
  /** Per-request timeout in ms (default 30 000; exec adds its own timeout on top). */
  timeoutMs?: number;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

class Http {
  readonly baseUrl: string;
  constructor(private readonly opts: LiteBoxdClientOptions) {
    this.baseUrl = (opts.baseUrl ?? "http://localhost:8080/api/v1").replace(/\/+$/, "");
  }

  async raw(method: string, path: string, init: { query?: Query; body?: BodyInit; json?: unknown; timeoutMs?: number } = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...this.opts.headers };
    if (this.opts.authToken) headers.authorization = `Bearer ${this.opts.authToken}`;
    let body = init.body;
    if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    const timeout = init.timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, { method, headers, body, signal: AbortSignal.timeout(timeout) });
    } catch (error) {
      if ((error as Error).name === "TimeoutError") throw new TimeoutError(`${method} ${path} timed out after ${timeout} ms`);
      throw error;
    }
    if (!res.ok) {
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { error: text };
      }
      throw apiError(res.status, parsed);
    }
    return res;
  }

  async json<T>(method: string, path: string, init: Parameters<Http["raw"]>[2] = {}): Promise<T> {
    const res = await this.raw(method, path, init);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

const enc = encodeURIComponent;

export class SandboxClient {
  constructor(private readonly http: Http) {}

  create(template: string, options: { templateVersion?: number; overrides?: SandboxOverrides } = {}): Promise<Sandbox> {
    return this.http.json("POST", "/sandboxes", { json: { template, ...options } });
  }
  async list(options: { includeTerminating?: boolean } = {}): Promise<Sandbox[]> {
    return (await this.http.json<{ items: Sandbox[] }>("GET", "/sandboxes", { query: { include_terminating: options.includeTerminating } })).items;
  }
  get(id: string): Promise<Sandbox> {
    return this.http.json("GET", `/sandboxes/${enc(id)}`);
  }
  async delete(id: string): Promise<void> {
    await this.http.json("DELETE", `/sandboxes/${enc(id)}`);
  }
  /** Bunker extension: freezes every process of the sandbox (memory kept); exec, files and the gateway answer 409. */
  pause(id: string): Promise<Sandbox> {
    return this.http.json("POST", `/sandboxes/${enc(id)}/pause`);
  }
  /** Bunker extension: thaws a paused sandbox. */
  resume(id: string): Promise<Sandbox> {
    return this.http.json("POST", `/sandboxes/${enc(id)}/resume`);
  }
  execute(id: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeout = Math.max(1, Math.ceil((options.timeoutMs ?? 30_000) / 1000));
    return this.http.json("POST", `/sandboxes/${enc(id)}/exec`, {
      json: { command, timeout, ...(options.env ? { env: options.env } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) },
      timeoutMs: timeout * 1000 + 30_000,
    });
  }
  getLogs(id: string, options: { tail?: number } = {}): Promise<LogsResult> {
    return this.http.json("GET", `/sandboxes/${enc(id)}/logs`, { query: { tail: options.tail } });
  }
  /** Uploads bytes, a Blob or a stream to `path` inside the sandbox (multipart fields `path`, then `file`). */
  async uploadFile(id: string, path: string, content: Blob | Uint8Array | string, options: { contentType?: string } = {}): Promise<void> {
    const form = new FormData();
    form.append("path", path);
    const blob = content instanceof Blob ? content : new Blob([content as BlobPart], { type: options.contentType ?? "application/octet-stream" });
    form.append("file", blob, path.split("/").pop() || "file");
    await this.http.json("POST", `/sandboxes/${enc(id)}/files`, { body: form, timeoutMs: 600_000 });
  }
  async downloadFile(id: string, path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.downloadStream(id, path)).arrayBuffer());
  }
  /** The download as a Response whose body streams. */
  downloadStream(id: string, path: string): Promise<Response> {
    return this.http.raw("GET", `/sandboxes/${enc(id)}/files`, { query: { path }, timeoutMs: 600_000 });
  }
  /** Polls until the sandbox runs (default: every 2 s for up to 300 s). */
  async waitForReady(id: string, options: WaitOptions = {}): Promise<Sandbox> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sandbox = await this.get(id);
      if (sandbox.status === "running") return sandbox;
      if (["failed", "succeeded", "stopped", "terminating"].includes(sandbox.status)) {
        throw new SandboxFailedError(id, sandbox.status_reason ?? `status is ${sandbox.status}`);
      }
      if (Date.now() >= deadline) throw new TimeoutError(`sandbox ${id} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, options.pollIntervalMs ?? 2000));
    }
  }
}

export class TemplateClient {
  constructor(private readonly http: Http) {}

  create(request: CreateTemplateRequest): Promise<Template> {
    return this.http.json("POST", "/templates", { json: request });
  }
  list(options: { tag?: string; search?: string; page?: number; pageSize?: number } = {}): Promise<TemplateListResult> {
    return this.http.json("GET", "/templates", { query: options });
  }
  get(name: string): Promise<Template> {
    return this.http.json("GET", `/templates/${enc(name)}`);
  }
  update(name: string, request: UpdateTemplateRequest): Promise<Template> {
    return this.http.json("PUT", `/templates/${enc(name)}`, { json: request });
  }
  async delete(name: string): Promise<void> {
    await this.http.json("DELETE", `/templates/${enc(name)}`);
  }
  listVersions(name: string): Promise<VersionListResult> {
    return this.http.json("GET", `/templates/${enc(name)}/versions`);
  }
  getVersion(name: string, version: number): Promise<TemplateVersion> {
    return this.http.json("GET", `/templates/${enc(name)}/versions/${version}`);
  }
  rollback(name: string, targetVersion: number, options: { changelog?: string } = {}): Promise<RollbackResult> {
    return this.http.json("POST", `/templates/${enc(name)}/rollback`, { json: { targetVersion, ...options } });
  }
  async exportYaml(name: string, options: { version?: number } = {}): Promise<string> {
    return (await this.http.raw("GET", `/templates/${enc(name)}/export`, { query: { version: options.version } })).text();
  }
}

export class PrepullClient {
  constructor(private readonly http: Http) {}

  /** Starts pulling `image`; the pull fails after timeoutMs (default 600 000; sent as whole seconds, rounded up). */
  create(image: string, options: { timeoutMs?: number } = {}): Promise<PrepullTask> {
    const timeout = Math.max(1, Math.ceil((options.timeoutMs ?? 600_000) / 1000));
    return this.http.json("POST", "/images/prepull", { json: { image, timeout } });
  }
  createForTemplate(templateName: string): Promise<PrepullTask> {
    return this.http.json("POST", `/templates/${enc(templateName)}/prepull`);
  }
  async list(options: { image?: string; status?: PrepullStatus } = {}): Promise<PrepullTask[]> {
    return (await this.http.json<{ items: PrepullTask[] }>("GET", "/images/prepull", { query: options })).items;
  }
  /** LiteBoxd has no single-task route everywhere: falls back to the list when GET /images/prepull/:id is missing. */
  async get(id: string): Promise<PrepullTask> {
    try {
      return await this.http.json("GET", `/images/prepull/${enc(id)}`);
    } catch (error) {
      if (!(error instanceof NotFoundError) || error.code === "PREPULL_NOT_FOUND") throw error;
      const task = (await this.list()).find((t) => t.id === id);
      if (!task) throw new NotFoundError(`prepull task ${id} not found`, "PREPULL_NOT_FOUND");
      return task;
    }
  }
  async delete(id: string): Promise<void> {
    await this.http.json("DELETE", `/images/prepull/${enc(id)}`);
  }
  /** Polls until the task completes (default: every 5 s for up to 1800 s). */
  async waitForCompletion(id: string, options: WaitOptions = {}): Promise<PrepullTask> {
    const timeoutMs = options.timeoutMs ?? 1_800_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const task = await this.get(id);
      if (task.status === "completed") return task;
      if (task.status === "failed") throw new PrepullFailedError(id, task.error ?? "unknown error");
      if (Date.now() >= deadline) throw new TimeoutError(`prepull ${id} not complete after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, options.pollIntervalMs ?? 5000));
    }
  }
}

export class ImportExportClient {
  constructor(private readonly http: Http) {}

  importTemplates(yaml: string | Uint8Array, options: { strategy?: ImportStrategy; autoPrepull?: boolean } = {}): Promise<ImportResult> {
    const form = new FormData();
    form.append("file", new Blob([yaml as BlobPart], { type: "application/x-yaml" }), "templates.yaml");
    form.append("strategy", options.strategy ?? "create-or-update");
    form.append("prepull", String(options.autoPrepull ?? false));
    return this.http.json("POST", "/templates/import", { body: form });
  }
  async exportAll(options: { tag?: string; names?: string[] } = {}): Promise<string> {
    const res = await this.http.raw("GET", "/templates/export", { query: { tag: options.tag, names: options.names?.join(",") } });
    return res.text();
  }
}

export class LiteBoxdClient {
  readonly sandbox: SandboxClient;
  readonly template: TemplateClient;
  readonly prepull: PrepullClient;
  readonly importExport: ImportExportClient;

  constructor(options: LiteBoxdClientOptions = {}) {
    const http = new Http(options);
    this.sandbox = new SandboxClient(http);
    this.template = new TemplateClient(http);
    this.prepull = new PrepullClient(http);
    this.importExport = new ImportExportClient(http);
  }
}

export default LiteBoxdClient;
