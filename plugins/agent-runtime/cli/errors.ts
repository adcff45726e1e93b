// Exit statuses of `bunker agent ...`, one per kind of failure, so scripts can tell them apart.

export const EXIT = {
  OK: 0,
  /** The work ran and failed: the build failed, the agent answered with an error, agent.yaml is invalid. */
  FAILED: 1,
  /** The command line was wrong (unknown flag, missing --input, a value agent.yaml's rules refuse). */
  USAGE: 2,
  /** The server has no such template or session (or no agent host at that address). */
  NOT_FOUND: 3,
  /** The server could not be reached, or answered with a server error. */
  SERVER: 4,
  /** No answer within --timeout. */
  TIMEOUT: 5,
  /** The server refused the API key. */
  AUTH: 6,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  readonly exit: ExitStatus;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(exit: ExitStatus, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "CliError";
    this.exit = exit;
    this.code = code;
    this.details = details;
  }
}

export const usageError = (message: string) => new CliError(EXIT.USAGE, "USAGE", message);
