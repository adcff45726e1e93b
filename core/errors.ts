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
