// `bunker agent dev`: run the agent locally and restart it whenever a project file changes.
import { watch, type FSWatcher } from "node:fs";
import { parseArgs } from "node:util";
import { entrypointCommand } from "bunker/agent-config";
import { EXIT, usageError } from "./errors";
import { findProject, loadProject, type Project } from "./project";

export const DEV_USAGE = `usage: bunker agent dev [--dir DIR] [--port PORT] [--host HOST] [--no-watch]

Runs the agent in DIR (default .) on http://HOST:PORT (default 127.0.0.1:8080) with Bun (.ts/.js) or python3 (.py),
and restarts it when a file in the project changes. Ctrl-C stops it.`;

/** Changes under these never restart the agent. */
const IGNORED = /(^|\/)(node_modules|\.git|__pycache__|\.venv|dist)(\/|$)|(^|\/)\.[^/]*$|~$|\.swp$/;

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  exited: Promise<number>;
}

async function waitForPing(url: string, running: Running, deadlineMs: number): Promise<boolean> {
  let alive = true;
  running.exited.then(() => (alive = false));
  const end = Date.now() + deadlineMs;
  while (alive && Date.now() < end) {
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  return false;
}

async function stopAgent(running: Running | undefined): Promise<void> {
  if (!running) return;
  running.proc.kill("SIGTERM");
  const timer = setTimeout(() => running.proc.kill("SIGKILL"), 3000);
  await running.exited;
  clearTimeout(timer);
}

export async function dev(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: { dir: { type: "string" }, port: { type: "string" }, host: { type: "string" }, "no-watch": { type: "boolean" } },
    strict: true,
  });
  const port = v.port === undefined ? 8080 : Number(v.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`--port must be a port number (got ${v.port})`);
  const host = v.host ?? "127.0.0.1";
  const project: Project = findProject(v.dir);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const log = (text: string) => process.stdout.write(`[agent dev] ${text}\n`);

  let running: Running | undefined;
  const start = async () => {
    const config = loadProject(project); // re-read: the entrypoint may have changed
    const argv = entrypointCommand(config, process.execPath);
    const proc = Bun.spawn(argv, {
      cwd: project.dir,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      env: { ...process.env, BUNKER_AGENT_PORT: String(port), BUNKER_AGENT_HOST: host, PORT: String(port), BUNKER_AGENT_DEBUG: process.env.BUNKER_AGENT_DEBUG ?? "true" },
    });
    const current: Running = { proc, exited: proc.exited };
    running = current;
    current.exited.then((code) => {
      if (running === current) log(`${config.spec.entrypoint} exited with ${code}; waiting for a change to restart`);
    });
    log(`started ${entrypointCommand(config).join(" ")} (pid ${proc.pid})`);
    if (await waitForPing(url, current, (config.spec.runtime?.timeout ?? 30) * 1000)) log(`ready on ${url}`);
    else if (running === current && proc.exitCode === null) log(`${url}/ping did not answer yet`);
  };

  // Every start and restart runs in this chain, so a stop never races a start.
  let restarting: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopping = false;
  const restart = (file: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      restarting = restarting.then(async () => {
        if (stopping) return;
        log(`${file} changed: restarting`);
        const previous = running;
        running = undefined;
        await stopAgent(previous);
        await start().catch((err) => log(`cannot start: ${(err as Error).message}`));
      });
    }, 150);
  };

  const stopped = new Promise<number>((resolve) => {
    const shutdown = async () => {
      stopping = true;
      watcher?.close();
      clearTimeout(timer);
      await restarting;
      const last = running;
      running = undefined;
      await stopAgent(last);
      log("stopped");
      resolve(EXIT.OK);
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });

  let watcher: FSWatcher | undefined;
  if (!v["no-watch"]) {
    watcher = watch(project.dir, { recursive: true }, (_event, name) => {
      const file = name?.toString().replaceAll("\\", "/");
      if (file && !IGNORED.test(file)) restart(file);
    });
  }
  restarting = start();
  await restarting;
  return stopped;
}
