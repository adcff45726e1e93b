// What each launched program of a desktop did: its state, exit code and last lines of output. Every program's
// stdout/stderr is drained into here, so an app never dies of SIGPIPE on a closed pipe, and what it printed before
// it failed can be shown instead of vanishing. Bounded per app and per desktop.
import { forEachLine } from "bunker/core";

export type AppState = "running" | "exited" | "unknown";

export interface AppInfo {
  id: string;
  application: string;
  argv: string[];
  /** Host pid of the program (its sandbox's launcher when isolated); null where the backend cannot tell. */
  pid: number | null;
  state: AppState;
  /** Exit code (128+signal when killed); null while running or unknown. */
  exit_code: number | null;
  started_at: string;
  exited_at: string | null;
  /** The last lines the program wrote to stdout and stderr, oldest first. */
  output: string[];
}

export interface AppLogLimits {
  /** Lines kept per app (older ones are dropped). */
  linesPerApp: number;
  /** Characters kept per line. */
  lineLength: number;
  /** App records kept per desktop; the oldest exited ones are dropped first. */
  apps: number;
}

export const DEFAULT_APP_LOG_LIMITS: AppLogLimits = { linesPerApp: 200, lineLength: 2000, apps: 64 };

export interface LoggedProcess {
  readonly pid: number | null;
  readonly exited: Promise<number>;
  readonly stdout?: ReadableStream<Uint8Array> | null;
  readonly stderr?: ReadableStream<Uint8Array> | null;
}

export class AppLog {
  private readonly apps = new Map<string, AppInfo>();
  private next = 1;

  constructor(private readonly limits: AppLogLimits = DEFAULT_APP_LOG_LIMITS) {}

  /** Records a started program and drains its output; `recorded` resolves once its exit and last lines are in. */
  add(application: string, argv: string[], proc: LoggedProcess): { app: AppInfo; recorded: Promise<void> } {
    const app: AppInfo = {
      id: `app-${this.next++}`, application, argv, pid: proc.pid, state: "running", exit_code: null,
      started_at: new Date().toISOString(), exited_at: null, output: [],
    };
    this.apps.set(app.id, app);
    this.prune();
    const append = (line: string) => {
      app.output.push(line.length > this.limits.lineLength ? `${line.slice(0, this.limits.lineLength)}…` : line);
      if (app.output.length > this.limits.linesPerApp) app.output.splice(0, app.output.length - this.limits.linesPerApp);
    };
    const readers = [proc.stdout, proc.stderr].filter((s): s is ReadableStream<Uint8Array> => !!s)
      .map((s) => forEachLine(s, append, { maxLineLength: this.limits.lineLength }).catch(() => undefined));
    const recorded = proc.exited.then(async (code) => {
      // The last lines are written just before exit: read them before the record says "exited" (a child that
      // inherited the pipes may keep them open, hence the bound).
      await Promise.race([Promise.all(readers), Bun.sleep(200)]);
      app.state = "exited";
      app.exit_code = code;
      app.exited_at = new Date().toISOString();
    });
    return { app, recorded };
  }

  /** Records a program whose fate the backend cannot observe (a remote desktop). */
  addUnobserved(application: string, argv: string[]): AppInfo {
    const app: AppInfo = {
      id: `app-${this.next++}`, application, argv, pid: null, state: "unknown", exit_code: null,
      started_at: new Date().toISOString(), exited_at: null, output: [],
    };
    this.apps.set(app.id, app);
    this.prune();
    return app;
  }

  list(): AppInfo[] {
    return [...this.apps.values()].map((a) => ({ ...a, output: [...a.output] }));
  }

  get(id: string): AppInfo | undefined {
    const app = this.apps.get(id);
    return app && { ...app, output: [...app.output] };
  }

  private prune() {
    if (this.apps.size <= this.limits.apps) return;
    for (const [id, app] of this.apps) {
      if (this.apps.size <= this.limits.apps) return;
      if (app.state !== "running") this.apps.delete(id);
    }
  }
}

/** Waits up to `graceMs` for a just-started app to exit; resolves with a copy of its record (exited or running). */
export async function settleLaunch(launched: { app: AppInfo; recorded: Promise<void> }, graceMs: number): Promise<AppInfo> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([launched.recorded, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  return { ...launched.app, output: [...launched.app.output] };
}
