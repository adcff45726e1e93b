// The one error type of the scaffolder: a stable code, a message for people, details for --json, an exit status.

export type CreateErrorCode =
  | "USAGE"
  | "INVALID_FIELD"
  | "UNKNOWN_TEMPLATE"
  | "BAD_TEMPLATE"
  | "NOT_EMPTY"
  | "NOT_A_DIRECTORY"
  | "WRITE_FAILED"
  | "CANCELLED";

/** Exit statuses: 1 the files could not be written, 2 the request was wrong, 130 cancelled at a prompt. */
const EXIT_STATUS: Record<CreateErrorCode, number> = {
  USAGE: 2,
  INVALID_FIELD: 2,
  UNKNOWN_TEMPLATE: 2,
  BAD_TEMPLATE: 1,
  NOT_EMPTY: 2,
  NOT_A_DIRECTORY: 2,
  WRITE_FAILED: 1,
  CANCELLED: 130,
};

export class CreateAgentError extends Error {
  readonly code: CreateErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: CreateErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "CreateAgentError";
    this.code = code;
    this.details = details;
  }

  get exitStatus(): number {
    return EXIT_STATUS[this.code];
  }
}
