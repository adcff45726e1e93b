// One error type for the whole server: services throw it, the core maps it to one body shape.
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; request_id?: string };
}

export class BunkerError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "BunkerError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  toBody(requestId?: string): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    if (requestId) error.request_id = requestId;
    return { error };
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>, code = "BAD_REQUEST") =>
  new BunkerError(400, code, message, details);
export const unauthorized = (message = "Missing or invalid API key", code = "UNAUTHORIZED") =>
  new BunkerError(401, code, message);
export const forbidden = (message: string, details?: Record<string, unknown>, code = "FORBIDDEN") =>
  new BunkerError(403, code, message, details);
export const notFound = (message: string, details?: Record<string, unknown>, code = "NOT_FOUND") =>
  new BunkerError(404, code, message, details);
export const conflict = (message: string, details?: Record<string, unknown>, code = "CONFLICT") =>
  new BunkerError(409, code, message, details);
export const unavailable = (message: string, details?: Record<string, unknown>, code = "UNAVAILABLE") =>
  new BunkerError(503, code, message, details);

export function errorResponse(error: BunkerError, requestId?: string, headers?: HeadersInit): Response {
  return Response.json(error.toBody(requestId), { status: error.status, headers });
}

export type ErrorFactory = (message: string, details?: Record<string, unknown>) => BunkerError;
export type ErrorCodes<T extends Record<string, number>> = { readonly [K in keyof T]: ErrorFactory } & {
  /** The table itself (code → HTTP status), for docs and tests. */
  readonly table: Readonly<T>;
};

/** A plugin's error codes, written once with their HTTP status and used by name:
 * `const errors = defineErrors({ TEMPLATE_NOT_FOUND: 404 }); throw errors.TEMPLATE_NOT_FOUND("…")`.
 * Codes are stable wire values: SCREAMING_SNAKE_CASE, one per distinct condition (no synonyms). */
export function defineErrors<const T extends Record<string, number>>(table: T): ErrorCodes<T> {
  const out: Record<string, unknown> = { table: Object.freeze({ ...table }) };
  for (const [code, status] of Object.entries(table)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(code)) throw new Error(`defineErrors: code "${code}" must be SCREAMING_SNAKE_CASE`);
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`defineErrors: ${code} has status ${status}; use 400–599`);
    out[code] = (message: string, details?: Record<string, unknown>) => new BunkerError(status, code, message, details);
  }
  return out as ErrorCodes<T>;
}

/** The core's own codes: what the request pipeline, auth and migrations answer with. */
export const coreErrors = defineErrors({
  VALIDATION_FAILED: 400,
  INVALID_BODY: 400,
  /** A framework error with a 4xx status of its own; rendered with that status. */
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  ROUTE_NOT_FOUND: 404,
  INTERNAL_ERROR: 500,
  INVALID_MIGRATION: 500,
  MIGRATION_FAILED: 500,
  SHUTTING_DOWN: 503,
});

/** A caller's value as an error message may quote it: never the whole of a long one (a 50 MB name is not sent back). */
export function quoted(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** The one validation failure: 400 VALIDATION_FAILED naming where (body, query, params) and each failing field. */
export function validationFailed(where: string, fields: FieldProblem[]): BunkerError {
  const first = fields[0];
  const message = first ? `invalid ${where}: ${first.field}: ${first.message}` : `invalid ${where}`;
  return coreErrors.VALIDATION_FAILED(message, { in: where, fields });
}

export interface JsonShapeLimits {
  /** How deep objects and arrays may nest. */
  maxDepth: number;
  /** The longest object key anywhere inside. */
  maxKeyLength: number;
  /** The most bytes the value may weigh as JSON. */
  maxBytes: number;
}

/** The first rule a free-form JSON value (metadata, params) breaks, found without recursion; null when it keeps them
 * all. Schemas type such values as unknown, so their depth and size are checked here, once for every plugin. */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits): string | null {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > limits.maxDepth) return `nests deeper than ${limits.maxDepth} levels`;
    for (const [key, child] of Object.entries(v)) {
      if (key.length > limits.maxKeyLength) return `has a key longer than ${limits.maxKeyLength} characters`;
      stack.push([child, depth + 1]);
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? "");
  return bytes > limits.maxBytes ? `is ${bytes} bytes as JSON; at most ${limits.maxBytes}` : null;
}
