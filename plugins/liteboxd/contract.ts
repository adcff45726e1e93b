// The contract of liteboxd's services for other plugins and outside plugin authors: "liteboxd.sandboxes" and
// "liteboxd.templates", resolved with ctx.services.require(...). Types only: importing this file loads no server code.
import type { Principal } from "bunker/core";
import type {
  CreateSandboxRequest,
  CreateTemplateRequest,
  ExecRequest,
  ExecResultWire,
  ImportResultWire,
  ImportStrategy,
  LogsWire,
  PrepullListWire,
  PrepullRequest,
  PrepullWire,
  RollbackWire,
  SandboxStatus,
  SandboxWire,
  TemplateListWire,
  TemplateVersionWire,
  TemplateWire,
  UpdateTemplateRequest,
  VersionListWire,
} from "./schema";

// Every wire type (request and response bodies as LiteBoxd defines them) is part of the contract.
export type * from "./schema";

/** A process in a running sandbox with live stdin/stdout/stderr; with tty it has a real PTY (stderr merged). */
export interface InteractiveProcess {
  write(data: string | Uint8Array): void;
  closeStdin(): void;
  /** No-op without tty. */
  resize(cols: number, rows: number): void;
  readonly output: ReadableStream<{ stream: "stdout" | "stderr"; data: Uint8Array }>;
  /** Exit code (128+signal when killed). */
  readonly exited: Promise<number>;
  /** Kills the process group. */
  kill(signal?: NodeJS.Signals): void;
}

export interface InteractiveOptions {
  /** The argv; it must not be empty. */
  command: string[];
  tty: boolean;
  /** Terminal size, 1 to 1000 (with tty). */
  cols?: number;
  rows?: number;
  env?: Record<string, string>;
  /** An absolute path inside the sandbox. */
  cwd?: string;
}

/** One status change of a sandbox, sent to every watcher; "deleted" once its deletion finished. */
export interface SandboxStatusEvent {
  id: string;
  status: SandboxStatus | "deleted";
  owner: string;
}

export type SandboxWatcher = (event: SandboxStatusEvent) => void;

export type SandboxEventType = "Normal" | "Warning";

/** "liteboxd.sandboxes": sandboxes from templates, scoped to an owner (a Bunker user id). A sandbox of another owner
 * is "not found". Errors are BunkerErrors with liteboxd's codes (errors.ts). */
export interface SandboxService {
  /** Starts creating a sandbox; it is "pending" until the startup sequence ends (see waitForReady). */
  create(request: CreateSandboxRequest, owner: string): Promise<SandboxWire>;
  get(id: string, owner: string): Promise<SandboxWire>;
  list(owner: string, includeTerminating?: boolean): Promise<SandboxWire[]>;
  /** Marks the sandbox terminating and deletes it in the background. */
  remove(id: string, owner: string): Promise<SandboxWire>;
  /** Resolves once the sandbox is running; rejects when it failed, ended or did not get ready within timeoutMs
   * (default 300 000). */
  waitForReady(id: string, owner: string, timeoutMs?: number): Promise<SandboxWire>;
  exec(id: string, request: ExecRequest, owner: string): Promise<ExecResultWire>;
  execInteractive(id: string, owner: string, options: InteractiveOptions): Promise<InteractiveProcess>;
  /** Freezes every process (memory kept; the TTL keeps counting); resume thaws them. */
  pause(id: string, owner: string): Promise<SandboxWire>;
  resume(id: string, owner: string): Promise<SandboxWire>;
  /** The main process's output (the last `tail` lines) and the sandbox's events. */
  logs(id: string, owner: string, tail?: number): Promise<LogsWire>;
  /** Writes a stream to an absolute path under /workspace or /tmp; resolves with the bytes written. */
  upload(id: string, path: string | undefined, body: ReadableStream<Uint8Array>, owner: string): Promise<number>;
  download(id: string, path: string | undefined, owner: string): Promise<{ size: number; body: ReadableStream<Uint8Array> }>;
  /** Where the host can connect to `port` inside a running sandbox (e.g. fetch(`http://${host}:${port}/`)). */
  portTarget(id: string, port: number, owner: string): Promise<{ host: string; port: number }>;
  /** Checks a sandbox's access token (stored hashed); null when wrong, unknown or deleted. */
  verifyAccessToken(id: string, token: string): Promise<{ owner: string; status: SandboxStatus } | null>;
  /** Records an event shown by /logs (e.g. "[Normal] SSHLogin: user alice from 127.0.0.1"). */
  recordEvent(id: string, type: SandboxEventType, reason: string, message: string): void;
  /** Called on every status change of any sandbox; returns the unsubscribe. */
  watch(watcher: SandboxWatcher): () => void;
}

export interface TemplateListQuery {
  tag?: string;
  search?: string;
  page?: number;
  pageSize?: number;
}

/** Who asks the template service: a user id (what other plugins pass: never an admin), or a request's principal
 * (an admin key sees and changes every template). */
export type TemplateCaller = string | Principal;

/** "liteboxd.templates": templates with a new version on every update (wire Template shapes), owned by their creator.
 * A template is private to its owner unless `isPublic` is true; a public one is readable and usable by every user but
 * changed (update, remove, rollback, prepull, import over it) only by its owner or an admin (403
 * TEMPLATE_FORBIDDEN). Another user's private template is TEMPLATE_NOT_FOUND, exactly like a missing one. Names are
 * one global namespace: creating a name someone else holds is TEMPLATE_EXISTS. Prepull tasks belong to their
 * starter the same way (another user's task is PREPULL_NOT_FOUND). */
export interface TemplateService {
  /** The caller becomes the template's owner (and its `author`). */
  create(request: CreateTemplateRequest, owner: TemplateCaller): Promise<TemplateWire>;
  /** Stores a new version (the spec is replaced, metadata fields only when given). */
  update(name: string, request: UpdateTemplateRequest, caller: TemplateCaller): Promise<TemplateWire>;
  /** The template with its latest spec. */
  get(name: string, caller: TemplateCaller): Promise<TemplateWire>;
  /** Whether the caller can see a template of that name (another user's private one does not count). */
  exists(name: string, caller: TemplateCaller): Promise<boolean>;
  /** The caller's templates and the public ones, each with its latest spec, files without their content (size instead). */
  list(query: TemplateListQuery, caller: TemplateCaller): Promise<TemplateListWire>;
  remove(name: string, caller: TemplateCaller): Promise<void>;
  /** Every version, files without their content as in list(); version() has the whole spec. */
  versions(name: string, caller: TemplateCaller): Promise<VersionListWire>;
  version(name: string, version: number, caller: TemplateCaller): Promise<TemplateVersionWire>;
  /** Rolls back by adding a new version with the target's spec. */
  rollback(name: string, targetVersion: number, changelog: string | undefined, caller: TemplateCaller): Promise<RollbackWire>;
  /** One template as a SandboxTemplate YAML document (latest version unless given). */
  exportOne(name: string, version: number | undefined, caller: TemplateCaller): Promise<string>;
  /** A SandboxTemplateList YAML document of the templates the caller can see. */
  exportAll(query: { tag?: string; names?: string[] }, caller: TemplateCaller): Promise<string>;
  /** Imports the text's templates as the caller: new ones are the caller's, existing ones must be changeable by it. */
  importYaml(text: string, strategy: ImportStrategy, prepull: boolean, caller: TemplateCaller): Promise<ImportResultWire>;
  /** Starts pulling an image into the cache in the background (409 while a pull of it is under way). */
  prepull(request: PrepullRequest, caller: TemplateCaller): Promise<PrepullWire>;
  prepullTemplate(name: string, caller: TemplateCaller): Promise<PrepullWire>;
  prepulls(query: { image?: string; status?: string }, caller: TemplateCaller): Promise<PrepullListWire>;
  getPrepull(id: string, caller: TemplateCaller): Promise<PrepullWire>;
  deletePrepull(id: string, caller: TemplateCaller): Promise<void>;
}

declare module "bunker/core" {
  interface BunkerServices {
    /** Sandboxes from templates for other plugins: create, waitForReady, exec, upload/download, logs, remove. */
    "liteboxd.sandboxes": SandboxService;
    /** Templates for other plugins: create, update, get, list, remove, exists (wire Template shapes). */
    "liteboxd.templates": TemplateService;
  }
}
