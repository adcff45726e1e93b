// Commands on a real pseudo-terminal: tmux runs them, send-keys types, capture-pane reads the screen.
import { eventually } from "./eventually";

export class Terminal {
  private readonly socket = `bunker-test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;

  /** Commands start in cwd with env's HOME and git identity. */
  constructor(private readonly cwd: string, private readonly env: Record<string, string>) {}

  private tmux(...args: string[]): string {
    const proc = Bun.spawnSync(["tmux", "-L", this.socket, ...args], { stdout: "pipe", stderr: "pipe" });
    if (proc.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${proc.stderr.toString()}`);
    return proc.stdout.toString();
  }

  /** Starts argv in a new tmux session; the shell prints EXIT=<status> when it ends. */
  start(session: string, argv: string[]): void {
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const vars = { HOME: this.env.HOME!, GIT_CONFIG_GLOBAL: this.env.GIT_CONFIG_GLOBAL!, GIT_CONFIG_NOSYSTEM: "1" };
    const envFlags = Object.entries(vars).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    this.tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "60", "-c", this.cwd, ...envFlags, `${quoted}; echo EXIT=$?; sleep 60`);
  }

  screen(session: string): string {
    return this.tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-300");
  }

  /** Waits until the screen shows text; returns the screen. */
  expectScreen(session: string, text: string | RegExp): Promise<string> {
    return eventually(() => {
      const shown = this.screen(session);
      return (typeof text === "string" ? shown.includes(text) : text.test(shown)) && shown;
    }, `${String(text)} on the terminal`, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}; it shows:\n${this.screen(session)}`);
    });
  }

  /** Waits for the question, then types the answer and Enter. */
  async answer(session: string, question: string | RegExp, reply: string): Promise<void> {
    await this.expectScreen(session, question);
    if (reply) this.tmux("send-keys", "-t", session, "-l", reply);
    this.tmux("send-keys", "-t", session, "Enter");
  }

  close(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // already gone
    }
  }
}
