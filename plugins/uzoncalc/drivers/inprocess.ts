// The in-process executor: generators run on the server's own event loop. Fast; for trusted sheets only.
import { SheetLoader } from "../loader";
import { SheetRunner, type RunnerOptions } from "../runner";
import type { Executor, StartSpec, StepOutcome } from "./executor";

export class InProcessExecutor implements Executor {
  readonly kind = "inprocess" as const;
  private readonly runner: SheetRunner;

  constructor(safeDirs: string[], options: RunnerOptions) {
    this.runner = new SheetRunner(new SheetLoader(safeDirs), options);
  }

  start(spec: StartSpec): Promise<StepOutcome> {
    return this.runner.start(spec);
  }

  resume(sessionId: string, input: unknown): Promise<StepOutcome> {
    return this.runner.resume(sessionId, input);
  }

  close(sessionId: string): Promise<string> {
    return this.runner.close(sessionId);
  }

  has(sessionId: string): boolean {
    return this.runner.has(sessionId);
  }

  async invalidate(filePath: string): Promise<void> {
    this.runner.invalidate(filePath);
  }

  async stats() {
    const m = process.memoryUsage();
    return { sessions: this.runner.size, rss: m.rss, heapUsed: m.heapUsed };
  }

  async shutdown(): Promise<void> {
    // Generators die with the process; durable sessions are replayed after a restart.
  }
}
