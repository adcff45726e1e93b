// One loaded plugin: its context, routes, start/stop hooks and supervised background tasks.
import type { AnyElysia } from "elysia";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { migrate, type Database } from "./db";
import type { ResolvedPlugin } from "./loader";
import type { Logger } from "./logger";
import type { MetricsRegistry } from "./metrics";
import type { BackgroundTaskOptions, PluginContext } from "./plugin";
import type { ErrorHookContext } from "./pipeline";
import type { BunkerError } from "./errors";
import { remaining, within } from "./server";
import { missingSystemRequirements } from "./system";
import type { ServiceDirectory } from "./services";

export type PluginState = "loaded" | "starting" | "running" | "failed" | "stopping" | "stopped";

export interface KernelHandles {
  db: Database;
  log: Logger;
  dataDir: string;
  metrics: MetricsRegistry;
  services: ServiceDirectory;
  signal: AbortSignal;
  debug: boolean;
  baseUrl: () => string;
  addPublicPaths(patterns: string[]): void;
  normalizeError(hook: ErrorHookContext): BunkerError;
  setHealthWarning(key: string, message: string | null): void;
}

export interface PluginRuntime {
  readonly name: string;
  readonly state: PluginState;
  readonly routes: AnyElysia | null;
  start(): Promise<void>;
  startBackground(): void;
  /** Stops its timers, waits for running tasks until deadline (epoch ms), then runs its stop hooks in reverse. */
  stop(deadline?: number): Promise<void>;
  describe(): Record<string, unknown>;
}

/** How long stop() waits for running background tasks when no deadline is given. */
const DEFAULT_TASK_WAIT_MS = 5_000;

export async function createPluginRuntime(plugin: ResolvedPlugin, k: KernelHandles): Promise<PluginRuntime> {
  const { def } = plugin;
  const log = k.log.child({ plugin: def.name });
  const dataDir = join(k.dataDir, "plugins", def.name);
  mkdirSync(dataDir, { recursive: true });
  const startHooks: Array<() => void | Promise<void>> = [];
  const stopHooks: Array<() => void | Promise<void>> = [];
  const tasks: Array<{ name: string; fn: (s: AbortSignal) => void | Promise<void>; options: BackgroundTaskOptions }> = [];
  const running = new Set<Promise<void>>();
  const timers: Array<ReturnType<typeof setInterval>> = [];
  let state: PluginState = "loaded";

  const ctx: PluginContext<Record<string, unknown>> = {
    name: def.name,
    config: plugin.config,
    log,
    db: k.db,
    dataDir,
    prefix: plugin.prefix,
    get baseUrl() { return k.baseUrl(); },
    signal: k.signal,
    debug: k.debug,
    services: k.services.forPlugin(def.name),
    metrics: k.metrics.forPlugin(def.name),
    migrate: (migrations) => migrate(k.db, def.name, migrations),
    onStart: (fn) => void startHooks.push(fn),
    onStop: (fn) => void stopHooks.push(fn),
    background: (name, fn, options = {}) => void tasks.push({ name, fn, options }),
    publicPaths: (...patterns) => k.addPublicPaths(patterns),
    toBunkerError: (hook) => k.normalizeError(hook),
    healthWarning: (key, message) => k.setHealthWarning(key, message),
  };

  const runStopHooks = async () => {
    for (const fn of [...stopHooks].reverse()) {
      try {
        await fn();
      } catch (err) {
        log.error("stop hook failed", { error: err });
      }
    }
  };

  if (def.migrations?.length) await ctx.migrate(def.migrations);
  let routes: AnyElysia | null = null;
  try {
    routes = (await def.setup(ctx as never)) ?? null;
  } catch (err) {
    // What setup opened before it threw (and registered a stop hook for) is closed before boot gives up.
    await runStopHooks();
    throw new Error(`plugin "${def.name}" failed in setup: ${(err as Error).message}`, { cause: err });
  }

  const runTask = (name: string, fn: (s: AbortSignal) => void | Promise<void>) => {
    if (k.signal.aborted) return;
    const p = (async () => {
      try {
        await fn(k.signal);
      } catch (err) {
        if (!k.signal.aborted) log.error("background task failed", { task: name, error: err });
      }
    })();
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  return {
    name: def.name,
    get state() { return state; },
    routes,
    async start() {
      state = "starting";
      const missing = missingSystemRequirements(def.system);
      if (missing) {
        log.warn("missing system requirements", { missing });
        k.setHealthWarning("system", missing);
      }
      try {
        for (const fn of startHooks) await fn();
        state = "running";
      } catch (err) {
        state = "failed";
        throw new Error(`plugin "${def.name}" failed to start: ${(err as Error).message}`, { cause: err });
      }
    },
    startBackground() {
      for (const t of tasks) {
        if (t.options.intervalMs) {
          if (t.options.runAtStart) runTask(t.name, t.fn);
          const timer = setInterval(() => runTask(t.name, t.fn), t.options.intervalMs);
          timer.unref?.();
          timers.push(timer);
        } else runTask(t.name, t.fn);
      }
    },
    async stop(deadline = Date.now() + DEFAULT_TASK_WAIT_MS) {
      if (state === "stopped") return;
      state = "stopping";
      for (const t of timers) clearInterval(t);
      if ((await within(Promise.allSettled([...running]), remaining(deadline))) === "timeout" && running.size) {
        log.warn("background tasks still running at shutdown", { tasks: running.size });
      }
      await runStopHooks();
      state = "stopped";
    },
    describe: () => ({
      name: def.name,
      version: def.version,
      description: def.description ?? null,
      state,
      prefix: plugin.prefix,
      dependsOn: def.dependsOn ?? [],
      source: plugin.source,
    }),
  };
}
