// Runs a desktop's untrusted processes (apps, commands, the window manager) through the isolation service when one is
// loaded, seeing only that desktop's X socket and home; otherwise directly on the host (the plugin warns in /health).
import type { IsolationService } from "bunker/core";
import type { CommandResult } from "./types";

export const SANDBOX_HOME = "/home/user";

export interface SandboxLayout {
  /** The desktop's home on the host, mounted at /home/user inside the sandbox. */
  homeHost: string;
  /** The X display number and the host path of its socket. */
  display: number;
  socketHost: string;
  env: Record<string, string>;
  /** Working directory as the caller sees it (under /home/user). */
  workingDirectory: string;
  network: boolean;
  memoryMb: number;
  cpus: number;
}

export interface SpawnedProcess {
  readonly pid: number;
  readonly exited: Promise<number>;
  /** The program's output: whoever spawns it must read both (AppLog does), or the program blocks on a full pipe. */
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  kill(): void;
}

export class DesktopSandbox {
  constructor(
    private readonly layout: SandboxLayout,
    private readonly isolation: IsolationService | undefined,
  ) {}

  get isolated(): boolean {
    return this.isolation !== undefined;
  }

  /** Maps a path under /home/user to where it lives on the host (identity inside a sandbox). */
  hostPath(sandboxPath: string): string {
    return this.layout.homeHost + sandboxPath.slice(SANDBOX_HOME.length);
  }

  private env(): Record<string, string> {
    const home = this.isolated ? SANDBOX_HOME : this.layout.homeHost;
    return {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      TERM: "xterm-256color",
      ...this.layout.env,
      HOME: home,
      USER: "user",
      DISPLAY: `:${this.layout.display}`,
    };
  }

  private cwd(): string {
    return this.isolated ? this.layout.workingDirectory : this.hostPath(this.layout.workingDirectory);
  }

  private isolatedSpec(argv: string[], timeoutMs?: number) {
    const socket = `/tmp/.X11-unix/X${this.layout.display}`;
    return {
      argv,
      cwd: this.cwd(),
      env: this.env(),
      mounts: [
        { host: this.layout.homeHost, sandbox: SANDBOX_HOME, writable: true },
        { host: this.layout.socketHost, sandbox: socket, writable: true },
      ],
      network: this.layout.network,
      limits: { memoryMb: this.layout.memoryMb, cpus: this.layout.cpus, pids: 512 },
      hostname: "desktop",
      timeoutMs,
    };
  }

  /** Starts a long-running program (an app, the window manager); it dies with the desktop. */
  spawn(argv: string[]): SpawnedProcess {
    if (this.isolation) {
      // Output is kept, never cancelled: an app that writes to a closed pipe dies of SIGPIPE without a word.
      const proc = this.isolation.spawn({ ...this.isolatedSpec(argv), stdin: "ignore" });
      return { pid: proc.pid, exited: proc.exited, stdout: proc.stdout, stderr: proc.stderr, kill: () => proc.kill("SIGKILL") };
    }
    const proc = Bun.spawn(argv, { cwd: this.cwd(), env: this.env(), stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
    return { pid: proc.pid, exited: proc.exited, stdout: proc.stdout, stderr: proc.stderr, kill: () => killGroup(proc.pid) };
  }

  /** Runs a shell command to completion; on timeout the whole process tree is killed and timed_out is set. */
  async run(command: string, timeoutMs: number): Promise<CommandResult> {
    const argv = ["/bin/bash", "-c", command];
    if (this.isolation) {
      const r = await this.isolation.run({ ...this.isolatedSpec(argv, timeoutMs), stdin: "ignore" });
      return { exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, timed_out: r.timedOut };
    }
    const proc = Bun.spawn(argv, { cwd: this.cwd(), env: this.env(), stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(proc.pid);
    }, timeoutMs);
    try {
      const [stdout, stderr, exitCode] = await Promise.all([readCapped(proc.stdout), readCapped(proc.stderr), proc.exited]);
      return { exit_code: exitCode, stdout, stderr, timed_out: timedOut };
    } finally {
      clearTimeout(timer);
    }
  }
}

function killGroup(pid: number) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const MAX_OUTPUT = 1024 * 1024;

/** Reads a stream as text, keeping the first MiB; ends when every writer (children included) has closed it. */
async function readCapped(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (size < MAX_OUTPUT) chunks.push(value.subarray(0, MAX_OUTPUT - size));
    size += value.length;
  }
  return Buffer.concat(chunks).toString("utf8");
}
