// The wire contract (routes) and the plugin's configuration.
import { t } from "bunker/core";
import { join } from "node:path";

export const SESSION_STATUSES = ["idle", "running", "waiting_input", "completed", "error", "cancelled"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const DEFAULT_SHEETS_DIR = join(import.meta.dir, "sheets");

export const configSchema = t.Object({
  executor: t.Union([t.Literal("inprocess"), t.Literal("isolated")], {
    default: "isolated",
    description: "inprocess: fast, trusted sheets only; isolated: a worker process, sandboxed when the isolation service is present",
  }),
  safeDirs: t.Array(t.String({ minLength: 1 }), {
    default: [DEFAULT_SHEETS_DIR],
    minItems: 1,
    description: "Directories sheets may be loaded from (checked on the real path)",
  }),
  idleTimeoutMs: t.Integer({ minimum: 1, default: 3_600_000, description: "A waiting session untouched this long is closed" }),
  stepTimeoutMs: t.Integer({ minimum: 1, default: 30_000, description: "Longest run from one window to the next" }),
  sweepIntervalMs: t.Integer({ minimum: 10, default: 30_000, description: "How often idle sessions are looked for" }),
  maxSessions: t.Integer({ minimum: 1, default: 50_000, description: "Open sessions held at once (across users)" }),
  retainFinishedMs: t.Integer({ minimum: 0, default: 86_400_000, description: "Finished sessions stay readable this long" }),
  maxHtmlBytes: t.Integer({ minimum: 1024, default: 5 * 1024 * 1024 }),
  workerMemoryMb: t.Integer({ minimum: 64, default: 1024, description: "Memory limit of the sandboxed worker" }),
});

const SessionId = t.String({ pattern: "^[A-Za-z0-9_.-]{1,80}$", description: "Letters, digits, _ . -" });

/** Field names and values of a form, or a sheet's params: their size, depth and key lengths are checked in validate.ts. */
const JsonObject = (description: string, options: Record<string, unknown> = {}) =>
  t.Record(t.String(), t.Unknown(), { maxProperties: 200, description, ...options });

export const StartBody = t.Object({
  file_path: t.String({ minLength: 1, maxLength: 4096, description: "Absolute, or relative to a safe directory" }),
  func_name: t.String({ pattern: "^[A-Za-z_$][A-Za-z0-9_$]*$", maxLength: 200 }),
  session_id: t.Optional(SessionId),
  params: t.Optional(JsonObject("Passed to the sheet function (at most 256 KiB as JSON)", { default: {} })),
});

export const ResumeBody = t.Object({
  session_id: SessionId,
  user_input: JsonObject("The window's field values (at most 256 KiB as JSON)"),
});

export const SessionBody = t.Object({ session_id: SessionId });
export const SessionParams = t.Object({ session_id: SessionId });
export const InvalidateBody = t.Object({ file_path: t.String({ minLength: 1, maxLength: 4096 }) });

const Field = t.Object({
  name: t.String(),
  label: t.String(),
  type: t.String(),
  required: t.Boolean(),
  placeholder: t.Optional(t.String()),
  default: t.Optional(t.Unknown()),
  options: t.Optional(t.Array(t.Object({ value: t.String(), label: t.String() }))),
  min: t.Optional(t.Number()),
  max: t.Optional(t.Number()),
  step: t.Optional(t.Number()),
  unit: t.Optional(t.String()),
});

export const WindowModel = t.Object({ title: t.String(), caption: t.Optional(t.String()), fields: t.Array(Field) });

export const ExecutionResponse = t.Object({
  status: t.Union(SESSION_STATUSES.map((s) => t.Literal(s))),
  session_id: t.String(),
  ui: t.Optional(WindowModel),
  html: t.String({ description: "The report so far (accumulated HTML)" }),
  result: t.Optional(t.Unknown()),
  error: t.Optional(t.String()),
  error_stack: t.Optional(t.String({ description: "Only when the server runs with debug" })),
  file_path: t.String(),
  func_name: t.String(),
  ui_steps: t.Integer({ description: "Windows answered so far" }),
});
