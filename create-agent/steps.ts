// The outside world around scaffolding: git config defaults, git init, bun install. Each spawned with an argv array.

export interface StepResult {
  ran: boolean;
  ok: boolean;
  /** Why it did not run, or what went wrong. */
  note?: string;
  output?: string;
}

function run(argv: string[], cwd?: string): { ok: boolean; output: string } | undefined {
  try {
    const proc = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const output = (proc.stdout.toString() + proc.stderr.toString()).trim();
    return { ok: proc.exitCode === 0, output };
  } catch {
    return undefined; // the program is not installed
  }
}

/** `git config --get key`, or undefined when git or the key is missing. */
export function gitConfig(key: string, cwd?: string): string | undefined {
  const result = run(["git", "config", "--get", key], cwd);
  return result?.ok && result.output ? result.output : undefined;
}

export function gitInit(dir: string): StepResult {
  const inside = run(["git", "rev-parse", "--is-inside-work-tree"], dir);
  if (inside === undefined) return { ran: false, ok: false, note: "git is not installed" };
  if (inside.ok && inside.output === "true") return { ran: false, ok: true, note: "already inside a git repository" };
  const init = run(["git", "init", "--quiet"], dir)!;
  return init.ok ? { ran: true, ok: true } : { ran: true, ok: false, note: init.output };
}

/** `bun install` in dir; output streams to the terminal unless quiet (then it is returned). */
export async function bunInstall(dir: string, quiet: boolean): Promise<StepResult> {
  const proc = Bun.spawn([process.execPath, "install"], {
    cwd: dir,
    stdin: "ignore",
    stdout: quiet ? "pipe" : "inherit",
    stderr: quiet ? "pipe" : "inherit",
  });
  const [code, out, err] = await Promise.all([
    proc.exited,
    quiet ? new Response(proc.stdout as ReadableStream).text() : "",
    quiet ? new Response(proc.stderr as ReadableStream).text() : "",
  ]);
  const output = `${out}${err}`.trim() || undefined;
  return code === 0 ? { ran: true, ok: true, output } : { ran: true, ok: false, note: `bun install exited with ${code}`, output };
}
