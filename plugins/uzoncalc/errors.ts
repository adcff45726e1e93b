// uzoncalc's error codes and their HTTP status, used by name (`errors.SESSION_NOT_FOUND("…")`), plus the wire shape
// errors take across the worker's pipe. Imports only core/errors.ts, which has no dependencies, so the worker process
// loads this file without the rest of the core.
import { BunkerError, defineErrors } from "../../core/errors";

export { BunkerError };

export const errors = defineErrors({
  INVALID_FILE_PATH: 400,
  NOT_A_SHEET: 400,
  /** The input does not fit the window the session waits on (details.fields says why, per field). */
  INVALID_INPUT: 400,
  PATH_NOT_ALLOWED: 403,
  /** Missing, not the caller's, or (inside an executor) no longer live: one answer for all three. */
  SESSION_NOT_FOUND: 404,
  SHEET_NOT_FOUND: 404,
  FUNCTION_NOT_FOUND: 404,
  SESSION_EXISTS: 409,
  SESSION_BUSY: 409,
  SESSION_NOT_WAITING: 409,
  SHEET_LOAD_FAILED: 422,
  TOO_MANY_SESSIONS: 429,
  /** The worker process failed a request (not the sheet: sheet errors are a session status). */
  WORKER_ERROR: 500,
  EXECUTOR_UNAVAILABLE: 503,
  EXECUTOR_RESTARTED: 503,
});

export interface WireError {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export const toWireError = (e: BunkerError): WireError => ({ status: e.status, code: e.code, message: e.message, details: e.details });

export function isSheetErrorShape(value: unknown): value is WireError {
  const v = value as Record<string, unknown> | null;
  return !!v && typeof v.status === "number" && typeof v.code === "string" && typeof v.message === "string";
}
