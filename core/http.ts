// Per-request plumbing shared by the kernel's hooks: request ids, paths, error mapping.
import { validationFailed, type BunkerError } from "./errors";

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
    field: fieldOf(e.path ?? "") || where,
    message: e.summary ?? e.message ?? "is invalid",
  }));
  return validationFailed(where, fields);
}

/** A TypeBox error path ("/spec/env/0") as a field name ("spec.env.0"). */
export function fieldOf(pointer: string): string {
  return pointer.replace(/^\//, "").replace(/\//g, ".");
}

/**
 * A request body as a stream (never read into memory here), cut off with `tooLarge()` once it passes `limit` bytes; a
 * declared Content-Length over the limit is refused before anything is read.
 */
export function boundedBody(request: Request, limit: number, tooLarge: () => Error): ReadableStream<Uint8Array> | undefined {
  if (Number(request.headers.get("content-length") ?? 0) > limit) throw tooLarge();
  if (!request.body) return undefined;
  let seen = 0;
  return request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
}
