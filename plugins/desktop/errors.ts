// VMServiceError-style codes of the seed SDK, rendered in the core's error body.
import { BunkerError } from "bunker/core";

export const sandboxNotFound = (id: string) =>
  new BunkerError(404, "SANDBOX_NOT_FOUND", `desktop ${id} not found`, { sandbox_id: id, hint: "list your desktops with GET /desktops" });

export const invalidArgument = (message: string, details?: Record<string, unknown>) =>
  new BunkerError(400, "INVALID_ARGUMENT", message, details);

export const operationFailed = (operation: string, reason: string, details?: Record<string, unknown>) =>
  new BunkerError(502, "OPERATION_FAILED", `${operation} failed: ${reason}`, { operation, reason, ...details });

export const creationFailed = (reason: string, details?: Record<string, unknown>) =>
  new BunkerError(503, "SANDBOX_CREATION_ERROR", `the desktop could not be created: ${reason}`, { reason, ...details });

export const quotaExceeded = (userId: string, current: number, limit: number) =>
  new BunkerError(429, "QUOTA_EXCEEDED", `user ${userId} already has ${current} of ${limit} allowed desktops`, {
    current_usage: current,
    limit,
    hint: "destroy a desktop (DELETE /desktops/:id) or ask for a higher max_concurrent_sandboxes",
  });

export const authenticationError = (message: string) => new BunkerError(401, "AUTHENTICATION_ERROR", message);

export const forbiddenFor = (message: string) => new BunkerError(403, "FORBIDDEN", message);
