// Ways to start the worker: inside the isolation service's sandbox, or as a plain child process (the fallback).
import type { IsolationService } from "bunker/core";
import { existsSync, realpathSync } from "node:fs";
import { WORKER_PATH, type WorkerProcess, type WorkerSpawner } from "./isolated";

/** The environment a worker gets: nothing of the server's own (no database URL, no keys). */
function workerEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
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
    return asWorker(Bun.spawn([process.execPath, WORKER_PATH], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: workerEnv() }));
  };
}

export interface SandboxOptions {
  safeDirs: string[];
  memoryMb: number;
}

/** The worker in a fresh sandbox: no network, read-only root, each safe directory mounted read-only at its real path. */
export function sandboxSpawner(isolation: IsolationService, options: SandboxOptions): WorkerSpawner {
  return () => {
    const mounts = options.safeDirs
      .filter((d) => existsSync(d))
      .map((d) => realpathSync(d))
      .map((d) => ({ host: d, sandbox: d }));
    const proc = isolation.spawn({
      argv: [process.execPath, WORKER_PATH],
      cwd: "/",
      env: workerEnv(),
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
