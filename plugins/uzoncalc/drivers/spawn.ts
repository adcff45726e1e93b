// Ways to start the worker: inside the isolation service's sandbox, or as a plain child process (the fallback).
import { SANDBOX_BUN, SANDBOX_PATH, type IsolationService } from "bunker/core";
import { existsSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { WORKER_PATH, type WorkerProcess, type WorkerSpawner } from "./isolated";

/** The environment a worker gets: nothing of the server's own (no database URL, no keys). */
function workerEnv(path: string): Record<string, string> {
  return {
    PATH: path,
    HOME: "/tmp",
    LANG: "C.UTF-8",
    // The worker must not try to write Bun's transpiler cache (the sandbox's filesystem is read-only).
    BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0",
    NO_COLOR: "1",
  };
}

/** A plain child or an isolated one, seen the same way by the executor (killed outright: a worker holds no state). */
function asWorker(proc: Pick<WorkerProcess, "stdin" | "stdout" | "stderr" | "exited"> & { kill(signal: "SIGKILL"): void }): WorkerProcess {
  return { stdin: proc.stdin, stdout: proc.stdout, stderr: proc.stderr, exited: proc.exited, kill: () => proc.kill("SIGKILL") };
}

export function childProcessSpawner(): WorkerSpawner {
  return () => {
    return asWorker(Bun.spawn([process.execPath, WORKER_PATH], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: workerEnv(process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin") }));
  };
}

export interface SandboxOptions {
  safeDirs: string[];
  memoryMb: number;
}

/** The Bunker code the worker runs, read-only at its host paths: sandboxes see no checkout unless bound. Only code:
 * the checkout's configuration, data directory and history stay out. `bunker/calc` resolves through package.json. */
function workerCodeMounts() {
  const root = realpathSync(resolve(import.meta.dir, "../../.."));
  return ["package.json", "tsconfig.json", "core", "plugins/uzoncalc", "node_modules"]
    .map((entry) => join(root, entry))
    .filter((path) => existsSync(path))
    .map((path) => ({ host: path, sandbox: path }));
}

/** The worker in a fresh sandbox: no network, read-only root, each safe directory mounted read-only at its real path. */
export function sandboxSpawner(isolation: IsolationService, options: SandboxOptions): WorkerSpawner {
  const code = workerCodeMounts();
  return () => {
    const safeDirs = options.safeDirs
      .filter((d) => existsSync(d))
      .map((d) => realpathSync(d))
      .map((d) => ({ host: d, sandbox: d }));
    const mounts = [...code, ...safeDirs];
    const proc = isolation.spawn({
      // The host's Bun lives where sandboxes cannot see it; the isolation service binds it at SANDBOX_BUN.
      argv: [SANDBOX_BUN, WORKER_PATH],
      cwd: "/",
      env: workerEnv(SANDBOX_PATH),
      mounts,
      network: false,
      stdin: "pipe",
      hostname: "uzoncalc",
      limits: { memoryMb: options.memoryMb, pids: 64 },
    });
    if (!proc.stdin) throw new Error("the isolation service gave the worker no stdin");
    return asWorker({ ...proc, stdin: proc.stdin, kill: (signal) => proc.kill(signal) });
  };
}
