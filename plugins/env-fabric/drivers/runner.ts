// Runs user code with an env's own interpreter: in the isolation service's sandbox when there is one, else as a
// plain process group (the server's /health says so). Either way a timeout kills the whole process tree.
import type { IsolationMount, IsolationService } from "bunker/core";

export interface RunSpec {
  python: string;
  code: string;
  /** Read-only mounts (the env, the base interpreter) at their host paths. */
  readOnly: string[];
  /** Writable scratch directory, the working directory. */
  scratch: string;
  timeoutMs: number;
  network: boolean;
  memoryMb?: number;
  maxOutputBytes: number;
}

export interface RunOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  isolated: boolean;
}

const SANDBOX_CWD = "/workspace";

function runEnv(python: string, home: string): Record<string, string> {
  const bin = python.slice(0, python.lastIndexOf("/"));
  return {
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    VIRTUAL_ENV: bin.slice(0, bin.lastIndexOf("/")),
    HOME: home,
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONUNBUFFERED: "1",
    LANG: "C.UTF-8",
  };
}

export async function runIsolated(isolation: IsolationService, spec: RunSpec): Promise<RunOutcome> {
  const mounts: IsolationMount[] = [
    ...spec.readOnly.map((p) => ({ host: p, sandbox: p })),
    { host: spec.scratch, sandbox: SANDBOX_CWD, writable: true },
  ];
  const result = await isolation.run({
    argv: [spec.python, "-c", spec.code],
    cwd: SANDBOX_CWD,
    env: runEnv(spec.python, SANDBOX_CWD),
    mounts,
    network: spec.network,
    limits: spec.memoryMb ? { memoryMb: spec.memoryMb } : undefined,
    timeoutMs: spec.timeoutMs,
    maxOutputBytes: spec.maxOutputBytes,
    stdin: "ignore",
  });
  return { ...result, durationMs: Math.round(result.durationMs), isolated: true };
}

async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    if (size >= max) continue; // keep draining so the child never blocks on a full pipe
    const part = chunk.subarray(0, max - size);
    chunks.push(part);
    size += part.length;
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

export async function runDirect(spec: RunSpec): Promise<RunOutcome> {
  const started = performance.now();
  // detached: the child leads its own process group, so one kill(-pid) reaches every grandchild.
  const proc = Bun.spawn([spec.python, "-c", spec.code], {
    cwd: spec.scratch,
    env: runEnv(spec.python, spec.scratch),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  let timedOut = false;
  const killTree = () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, spec.timeoutMs);
  const [exitCode, stdout, stderr] = await Promise.all([
    proc.exited.then((code) => {
      // Grandchildren left behind by a finished script hold the pipes open; end them with their parent.
      killTree();
      return code;
    }),
    readCapped(proc.stdout, spec.maxOutputBytes),
    readCapped(proc.stderr, spec.maxOutputBytes),
  ]).finally(() => clearTimeout(timer));
  return { stdout, stderr, exitCode, timedOut, durationMs: Math.round(performance.now() - started), isolated: false };
}
