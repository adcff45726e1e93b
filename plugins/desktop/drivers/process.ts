// Small helpers for running trusted X tools (xdotool, xclip, xwininfo) with argv arrays and a deadline.

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class ToolError extends Error {
  constructor(readonly argv: string[], readonly result: ToolResult) {
    super(`${argv[0]} exited with ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim() || "no output"}`);
  }
}

/** Runs a trusted tool to completion; throws ToolError on a non-zero exit unless allowFailure. */
export async function runTool(
  argv: string[],
  options: { env?: Record<string, string>; input?: string | Uint8Array; timeoutMs?: number; allowFailure?: boolean; daemonizes?: boolean } = {},
): Promise<ToolResult> {
  // A tool that forks a background child (xclip) would hold our pipes open forever: don't collect its output.
  const output = options.daemonizes ? "ignore" : "pipe";
  const proc = Bun.spawn(argv, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    stdin: options.input === undefined ? "ignore" : new Blob([options.input as string]),
    stdout: output,
    stderr: output,
    timeout: options.timeoutMs ?? 10_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    proc.stdout ? new Response(proc.stdout).text() : "",
    proc.stderr ? new Response(proc.stderr).text() : "",
    proc.exited,
  ]);
  const result = { exitCode, stdout, stderr };
  if (exitCode !== 0 && !options.allowFailure) throw new ToolError(argv, result);
  return result;
}

/** Polls until check() returns a value or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/** Asks an X process to exit, and kills it if it has not within a second. Never SIGKILL first: Xvfb removes its
 * socket on SIGTERM, and x11vnc frees its SysV shared-memory segments (killed, it leaks ~27 per viewer until the
 * kernel's 4096-segment limit is reached and every later viewer fails with "shmget: No space left on device"). */
export async function stopGracefully(proc: Bun.Subprocess) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 1_000);
  await proc.exited;
  clearTimeout(timer);
}
