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

export function uvEnvironment(settings: UvSettings): Record<string, string> {
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

/** uv's output as the error details need it: the last lines only, so a chatty uv cannot grow the server's memory. */
class OutputTail {
  private readonly lines: string[] = [];
  private size = 0;
  constructor(private readonly maxChars: number) {}
  push(line: string) {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > this.maxChars && this.lines.length > 1) this.size -= this.lines.shift()!.length + 1;
  }
  text() {
    return this.lines.join("\n");
  }
}

const OUTPUT_KEPT_CHARS = 256 * 1024;

/** Keeps the tail of a uv stream and passes each non-blank line to `onLine` (progress). */
async function collectLines(stream: ReadableStream<Uint8Array>, onLine?: ProgressFn): Promise<string> {
  const kept = new OutputTail(OUTPUT_KEPT_CHARS);
  await forEachLine(stream, (line) => {
    kept.push(line);
    if (onLine && line.trim()) onLine(line);
  }, { maxLineLength: 64 * 1024 });
  return kept.text();
}

export interface UvResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs `uv <args>` in `cwd`. Resolution failures become 422 PACKAGE_RESOLUTION_FAILED with uv's explanation;
 * anything else non-zero (or a hang past the timeout) becomes 500 UV_EXECUTION_ERROR with the command and stderr tail.
 */
export async function runUv(settings: UvSettings, args: string[], cwd: string, onProgress?: ProgressFn): Promise<UvResult> {
  const argv = [settings.binary, ...args];
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, { cwd, env: uvEnvironment(settings), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw errors.UV_EXECUTION_ERROR(`could not start uv (${settings.binary}): ${(err as Error).message}`, { command: argv });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, settings.timeoutMs);
  const [exitCode, stdout, stderr] = await Promise.all([
    proc.exited,
    collectLines(proc.stdout as ReadableStream<Uint8Array>),
    collectLines(proc.stderr as ReadableStream<Uint8Array>, onProgress),
  ]).finally(() => clearTimeout(timer));
  if (exitCode === 0 && !timedOut) return { stdout, stderr };
  if (RESOLUTION_FAILED.test(stderr)) {
    throw errors.PACKAGE_RESOLUTION_FAILED("the requested packages could not be resolved", {
      explanation: tail(stderr.trim()),
      command: argv,
    });
  }
  const why = timedOut ? `timed out after ${settings.timeoutMs} ms` : `exited with ${exitCode}`;
  throw errors.UV_EXECUTION_ERROR(`uv ${args[0]} ${why}`, {
    command: argv,
    exit_code: exitCode,
    stderr_tail: tail(stderr.trim()),
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
