// The uv CLI, spawned with argv arrays: environment, index flags, progress lines and error mapping in one place.
import { BunkerError } from "bunker/core";

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

async function pumpLines(stream: ReadableStream<Uint8Array>, sink: string[], onLine?: ProgressFn) {
  const decoder = new TextDecoder();
  let pending = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = decoder.decode(value, { stream: true });
    sink.push(text);
    if (!onLine) continue;
    pending += text;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line);
  }
  if (onLine && pending.trim()) onLine(pending);
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
    throw new BunkerError(500, "UV_EXECUTION_ERROR", `could not start uv (${settings.binary}): ${(err as Error).message}`, {
      command: argv,
    });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, settings.timeoutMs);
  const out: string[] = [];
  const errs: string[] = [];
  const [exitCode] = await Promise.all([
    proc.exited,
    pumpLines(proc.stdout as ReadableStream<Uint8Array>, out),
    pumpLines(proc.stderr as ReadableStream<Uint8Array>, errs, onProgress),
  ]).finally(() => clearTimeout(timer));
  const stdout = out.join("");
  const stderr = errs.join("");
  if (exitCode === 0 && !timedOut) return { stdout, stderr };
  if (RESOLUTION_FAILED.test(stderr)) {
    throw new BunkerError(422, "PACKAGE_RESOLUTION_FAILED", "the requested packages could not be resolved", {
      explanation: tail(stderr.trim()),
      command: argv,
    });
  }
  const why = timedOut ? `timed out after ${settings.timeoutMs} ms` : `exited with ${exitCode}`;
  throw new BunkerError(500, "UV_EXECUTION_ERROR", `uv ${args[0]} ${why}`, {
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
