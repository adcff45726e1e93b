// What the session service needs from an executor: run a sheet to its next window, resume it, close it.
import type { StartSpec, StepOutcome } from "../runner";

export type { StartSpec, StepOutcome };

export interface Executor {
  readonly kind: "inprocess" | "isolated";
  /** Loads and runs the sheet (replaying spec.inputs) to its first unanswered window; load problems throw BunkerError. */
  start(spec: StartSpec): Promise<StepOutcome>;
  /** Resumes a live session with a validated input. */
  resume(sessionId: string, input: unknown): Promise<StepOutcome>;
  /** Closes the generator so its finally blocks run; resolves with the HTML they yielded. */
  close(sessionId: string): Promise<string>;
  /** Whether the session's generator is alive here (false after a restart: the service then replays). */
  has(sessionId: string): boolean;
  /** Drops the cached module so the next start loads the file again. */
  invalidate(filePath: string): Promise<void>;
  /** Memory held by the executor's sessions (for /health-like stats and the benchmark). */
  stats(): Promise<{ sessions: number; rss: number; heapUsed: number }>;
  shutdown(): Promise<void>;
}
