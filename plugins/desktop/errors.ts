// The desktop plugin's error codes (VMServiceError-style codes of the seed SDK), rendered in the core's error body.
import { defineErrors } from "bunker/core";

export const errors = defineErrors({
  SANDBOX_NOT_FOUND: 404,
  STREAM_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  AUTHENTICATION_ERROR: 401,
  FORBIDDEN: 403,
  QUOTA_EXCEEDED: 429,
  APP_EXITED: 422,
  OPERATION_FAILED: 502,
  SANDBOX_CREATION_ERROR: 503,
});

export const sandboxNotFound = (id: string) =>
  errors.SANDBOX_NOT_FOUND(`desktop ${id} not found`, { sandbox_id: id, hint: "list your desktops with GET /desktops" });

export const invalidArgument = (message: string, details?: Record<string, unknown>) => errors.INVALID_ARGUMENT(message, details);

export const operationFailed = (operation: string, reason: string, details?: Record<string, unknown>) =>
  errors.OPERATION_FAILED(`${operation} failed: ${reason}`, { operation, reason, ...details });

export const creationFailed = (reason: string, details?: Record<string, unknown>) =>
  errors.SANDBOX_CREATION_ERROR(`the desktop could not be created: ${reason}`, { reason, ...details });

export const quotaExceeded = (userId: string, current: number, limit: number) =>
  errors.QUOTA_EXCEEDED(`user ${userId} already has ${current} of ${limit} allowed desktops`, {
    current_usage: current,
    limit,
    hint: "destroy a desktop (DELETE /desktops/:id) or ask for a higher max_concurrent_sandboxes",
  });

export const authenticationError = (message: string) => errors.AUTHENTICATION_ERROR(message);

export const forbiddenFor = (message: string) => errors.FORBIDDEN(message);

/** An app that failed right after launch, with what it printed (it would otherwise vanish without a word). */
export const appExited = (app: { application: string; exit_code: number | null; output: string[] }) =>
  errors.APP_EXITED(
    `${app.application} exited with code ${app.exit_code} right after launch${app.output.length ? `: ${app.output.slice(-5).join(" | ")}` : " without output"}`,
    { app },
  );
