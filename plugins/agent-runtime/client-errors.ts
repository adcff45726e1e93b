// The seed's client error hierarchy; every error carries the HTTP status and Bunker's stable error code.

export class AgentClientError extends Error {
  readonly errorCode: string | undefined;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  constructor(message: string, options: { errorCode?: string; status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.errorCode = options.errorCode;
    this.status = options.status;
    this.details = options.details;
  }
}
export class AuthenticationError extends AgentClientError {}
export class TemplateNotFoundError extends AgentClientError {}
export class SandboxCreationError extends AgentClientError {}
export class SessionNotFoundError extends AgentClientError {}
export class InvocationError extends AgentClientError {}
export class NetworkError extends AgentClientError {}
export class RateLimitError extends AgentClientError {}
export class QuotaExceededError extends AgentClientError {}
export class SandboxOperationError extends AgentClientError {}

/** What the client was doing, so a generic failure maps to the seed's matching error. */
export type Operation = "create" | "invoke" | "operate" | "query";

export interface ErrorPayload {
  error?: { code?: string; message?: string; details?: Record<string, unknown> } | string;
  error_type?: string;
  message?: string;
}

/** Maps a failed HTTP answer to the seed's error classes (auth, not-found and rate limits first, then by operation). */
export function errorFromResponse(status: number, payload: ErrorPayload | undefined, operation: Operation): AgentClientError {
  const err = payload?.error;
  const code = typeof err === "object" ? err.code : payload?.error_type;
  const message = (typeof err === "object" ? err.message : err) ?? payload?.message ?? `HTTP ${status}`;
  const details = typeof err === "object" ? err.details : undefined;
  const options = { errorCode: code, status, details };
  if (status === 401 || status === 403) return new AuthenticationError(message, options);
  if (code === "TEMPLATE_NOT_FOUND") return new TemplateNotFoundError(message, options);
  if (code === "SESSION_NOT_FOUND") return new SessionNotFoundError(message, options);
  if (code === "QUOTA_EXCEEDED") return new QuotaExceededError(message, options);
  if (status === 429) return new RateLimitError(message, options);
  if (operation === "create") return new SandboxCreationError(message, options);
  if (operation === "operate") return new SandboxOperationError(message, options);
  if (operation === "invoke") return new InvocationError(message, options);
  return new AgentClientError(message, options);
}
