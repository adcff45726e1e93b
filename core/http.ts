// Per-request plumbing shared by the kernel's hooks: request ids, paths, error mapping.
import { coreErrors, type BunkerError } from "./errors";

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

// Generated ids: a random per-process prefix and a counter, unique without paying for a UUID per request.
const ID_PREFIX = crypto.randomUUID().slice(0, 8) + "-";
let idCounter = 100_000; // ids keep at least six digits after the prefix

export function requestIdFrom(request: Request): string {
  const sent = request.headers.get("x-request-id");
  if (sent && REQUEST_ID.test(sent)) return sent;
  return ID_PREFIX + ++idCounter;
}

/** Pathname without allocating a URL object (hot path). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

/** Glob for public paths: `*` one segment, `**` anything below. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split("/")
    .map((seg) => (seg === "**" ? ".*" : seg === "*" ? "[^/]+" : seg.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${body.replace(/\/\.\*$/, "(/.*)?")}$`);
}

interface ValidationLike {
  all?: Array<{ path?: string; message?: string; summary?: string; value?: unknown }>;
  type?: string;
  message?: string;
}

/** Turns Elysia's TypeBox validation error into a 400 that names each failing field. */
export function validationError(error: unknown): BunkerError {
  const v = error as ValidationLike;
  const where = v.type ?? "request";
  const fields = (v.all ?? []).slice(0, 20).map((e) => ({
    field: (e.path ?? "").replace(/^\//, "").replace(/\//g, ".") || where,
    message: e.summary ?? e.message ?? "is invalid",
  }));
  const first = fields[0];
  const message = first ? `invalid ${where}: ${first.field}: ${first.message}` : `invalid ${where}`;
  return coreErrors.VALIDATION_FAILED(message, { in: where, fields });
}
