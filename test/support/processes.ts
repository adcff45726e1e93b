// Running real commands in tests: temp dirs cleaned up afterwards, a known git identity, captured output, free ports.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class TempDirs {
  private readonly dirs: string[] = [];
  make(prefix = "bunker-test-"): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }
  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** An environment whose git identity is known (and no system git config), so defaults are predictable. */
export function testEnv(home: string, email: string | null = "tester@example.com"): Record<string, string> {
  const gitconfig = join(home, "gitconfig");
  writeFileSync(gitconfig, email ? `[user]\n\tname = Tester\n\temail = ${email}\n[init]\n\tdefaultBranch = main\n` : "");
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("BUNKER_")) env[k] = v;
  return { ...env, HOME: home, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: "1", NO_COLOR: "1" };
}

export async function run(argv: string[], options: { cwd: string; env: Record<string, string>; stdin?: string }): Promise<Run> {
  const proc = Bun.spawn(argv, {
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

/** The check's value, or undefined while it throws (a server not up yet): for eventually(). */
export const quietly = async <T>(check: () => T | Promise<T>): Promise<T | undefined> => {
  try {
    return await check();
  } catch {
    return undefined;
  }
};
