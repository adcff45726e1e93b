// liteboxd's error codes, and how its /api/v1 routes render errors in LiteBoxd's two shapes (WIRE.md, "Errors").
import { defineErrors, type BunkerError } from "bunker/core";

/** LiteBoxd's own codes: its clients read them from the nested shape. */
const LITEBOXD = {
  INVALID_REQUEST: 400,
  TEMPLATE_EXISTS: 409,
  TEMPLATE_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  PREPULL_IN_PROGRESS: 409,
  PREPULL_NOT_FOUND: 404,
  INVALID_YAML: 400,
  INTERNAL_ERROR: 500,
} as const;

/** Bunker's own codes: on /api/v1 a LiteBoxd client sees only their message (flat routes) or the LiteBoxd code for
 * their status (nested routes); other plugins calling the services see them as they are. */
const BUNKER = {
  /** A public template of another user: readable and usable by everyone, changed only by its author or an admin. */
  TEMPLATE_FORBIDDEN: 403,
  /** A body above a size cap: the YAML import (refused before it is read whole), or a YAML export of many templates. */
  PAYLOAD_TOO_LARGE: 413,
  SANDBOX_NOT_FOUND: 404,
  /** The sandbox is not running (pending, failed, ended or being deleted) for what was asked. */
  SANDBOX_NOT_RUNNING: 409,
  SANDBOX_PAUSED: 409,
  /** waitForReady gave up before the sandbox got ready. */
  SANDBOX_NOT_READY: 504,
  FILE_NOT_FOUND: 404,
  /** The sandbox's file API failed for a reason other than the path (an I/O error inside the sandbox). */
  FILE_ERROR: 500,
  IMAGE_UNSUPPORTED: 400,
  ALLOWED_DOMAINS_UNSUPPORTED: 400,
  /** The driver cannot do this at all (no pause, no interactive exec, no port access). */
  NOT_SUPPORTED: 501,
  DRIVER_ERROR: 500,
  /** The startup sequence (image pull, startupScript, probe) did not end within startupTimeout. */
  STARTUP_TIMEOUT: 504,
  /** The port gateway's caller sent no or a wrong X-Access-Token. */
  ACCESS_TOKEN_INVALID: 401,
  /** Nothing answered on the sandbox port the gateway was asked for. */
  PORT_UNREACHABLE: 502,
} as const;

export const errors = defineErrors({ ...LITEBOXD, ...BUNKER });

const LITEBOXD_CODES: ReadonlySet<string> = new Set(Object.keys(LITEBOXD));

/** LiteBoxd's code for any error: its own when it has one, else the one its clients expect for the status. */
function liteboxdCode(error: BunkerError): string {
  if (LITEBOXD_CODES.has(error.code)) return error.code;
  if (error.status >= 500) return "INTERNAL_ERROR";
  if (error.status === 400 || error.status === 422) return "INVALID_REQUEST";
  return error.code;
}

/** LiteBoxd's error bodies: template, image and import/export routes nest (`{"error":{code,message}}`), every other
 * route (sandboxes, the gateway) is flat (`{"error":"msg"}`). A 401 is flat on every route: LiteBoxd's auth middleware
 * answers before any handler, always with a plain string. */
export type LiteboxdErrorShape = "flat" | "nested";

export function renderLiteboxdError(error: BunkerError, shape: LiteboxdErrorShape): Response {
  if (shape === "flat" || error.status === 401) return Response.json({ error: error.message }, { status: error.status });
  return Response.json({ error: { code: liteboxdCode(error), message: error.message } }, { status: error.status });
}
