// The uv CLI, spawned with argv arrays: environment, index flags, progress lines and error mapping in one place.
import { forEachLine } from "bunker/core";
import { errors } from "../errors";

export interface UvSettings {
  binary: string;
  cacheDir: string;
  /** Default index URL (config, UV_DEFAULT_INDEX or pip's); undefined leaves uv's own default. */
  indexUrl?: string;
  findLinks: string[];
  noIndex: boolean;
  pythonDownloads: boolean;
  timeoutMs: number;
}

export type ProgressFn = (line: string) => void;

const RESOLUTION_FAILED = /no solution found when resolving/i;
const TAIL_CHARS = 4000;

const tail = (text: string) => (text.length > TAIL_CHARS ? text.slice(-TAIL_CHARS) : text);

function uvEnvironment(settings: UvSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The caller's virtualenv or project-environment settings must not leak into the envs we manage.
    if (v === undefined || k === "VIRTUAL_ENV" || k === "UV_PROJECT_ENVIRONMENT" || k === "CONDA_PREFIX") continue;
    env[k] = v;
  }
  env.UV_CACHE_DIR = settings.cacheDir;
  env.UV_PYTHON_DOWNLOADS = settings.pythonDownloads ? "automatic" : "never";
  env.NO_COLOR = "1";
  if (settings.indexUrl) env.UV_DEFAULT_INDEX = settings.indexUrl;
  else delete env.UV_DEFAULT_INDEX;
  return env;
}

/** `uv add`/`uv remove` arguments: allowed options (split on blanks) before "--", requirements after it. */
export function packageArgs(packages: string[]): string[] {
  const options = packages.filter((p) => p.startsWith("-")).flatMap((p) => p.split(/\s+/));
  const requirements = packages.filter((p) => !p.startsWith("-"));
  return [...options, "--", ...requirements];
}

/** Flags that choose where packages come from, for commands that resolve or install. */
export function indexFlags(settings: UvSettings): string[] {
  const flags: string[] = [];
  if (settings.noIndex) flags.push("--no-index");
  for (const dir of settings.findLinks) flags.push("--find-links", dir);
  return flags;
}

/** The last lines of uv's stderr, as much as the error details show: a chatty uv cannot grow the server's memory. */
class OutputTail {
  private lines: string[] = [];
  private head = 0;
  private size = 0;
  constructor(private readonly maxChars: number) {}
  push(line: string) {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > this.maxChars && this.lines.length - this.head > 1) this.size -= this.lines[this.head++]!.length + 1;
    // Lines are dropped by moving `head` (O(1)); the array is cut once half of it is dropped lines.
    if (this.head > this.lines.length / 2) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }
  text() {
    return this.lines.slice(this.head).join("\n");
  }
}

/**
 * Runs `uv <args>` in `cwd`, passing each non-blank stderr line to `onProgress`. Resolution failures become 422
 * PACKAGE_RESOLUTION_FAILED with uv's explanation; anything else non-zero (or a hang past the timeout) becomes 500
 * UV_EXECUTION_ERROR with the command and stderr tail. uv's stdout says nothing the callers use and is not kept.
 */
export async function runUv(settings: UvSettings, args: string[], cwd: string, onProgress?: ProgressFn): Promise<void> {
  const argv = [settings.binary, ...args];
  let proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  try {
    proc = Bun.spawn(argv, { cwd, env: uvEnvironment(settings), stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  } catch (err) {
    throw errors.UV_EXECUTION_ERROR(`could not start uv (${settings.binary}): ${(err as Error).message}`, { command: argv });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, settings.timeoutMs);
  const stderr = new OutputTail(TAIL_CHARS);
  let resolutionFailed = false;
  const [exitCode] = await Promise.all([
    proc.exited,
    forEachLine(proc.stderr, (line) => {
      stderr.push(line);
      if (RESOLUTION_FAILED.test(line)) resolutionFailed = true;
      if (onProgress && line.trim()) onProgress(line);
    }, { maxLineLength: 64 * 1024 }),
  ]).finally(() => clearTimeout(timer));
  if (exitCode === 0 && !timedOut) return;
  if (resolutionFailed) {
    throw errors.PACKAGE_RESOLUTION_FAILED("the requested packages could not be resolved", {
      explanation: tail(stderr.text().trim()),
      command: argv,
    });
  }
  const why = timedOut ? `timed out after ${settings.timeoutMs} ms` : `exited with ${exitCode}`;
  throw errors.UV_EXECUTION_ERROR(`uv ${args[0]} ${why}`, {
    command: argv,
    exit_code: exitCode,
    stderr_tail: tail(stderr.text().trim()),
  });
}

/** Where packages come from: the plugin's config, else UV_DEFAULT_INDEX, else pip's index, else uv's own default. */
export async function resolveIndexUrl(
  configured: string | undefined,
  environment: Record<string, string | undefined>,
  pipIndex: () => Promise<string | undefined>,
): Promise<string | undefined> {
  return configured || environment.UV_DEFAULT_INDEX || (await pipIndex());
}

/** The index pip is configured with (PIP_INDEX_URL or `pip config`), since uv does not read pip's configuration. */
export async function pipConfiguredIndex(python = "python3"): Promise<string | undefined> {
  if (process.env.PIP_INDEX_URL) return process.env.PIP_INDEX_URL;
  try {
    const proc = Bun.spawn([python, "-m", "pip", "config", "get", "global.index-url"], { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    const [code, text] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    const url = text.trim();
    return code === 0 && url ? url : undefined;
  } catch {
    return undefined;
  }
}
