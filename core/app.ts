// The kernel's glue: boot (config, plugins, database), one Elysia app of the request pipeline, the core's routes and
// every plugin's, then start, listen and stop in order.
import { openapi } from "@elysiajs/openapi";
import { Elysia, type AnyElysia } from "elysia";
import { ApiKeyStore, isLoopback } from "./auth";
import { loadConfiguration, openCoreDatabase, type BootOptions } from "./boot";
import { ConfigError, describeConfig, type CoreConfig } from "./config";
import type { Database } from "./db";
import { docsRoutes } from "./docs";
import { createHealth } from "./health";
import { globToRegExp } from "./http";
import { createLogger, type Logger, type LogSink } from "./logger";
import { MetricsRegistry } from "./metrics";
import { apiKeyGuard, requestPipeline } from "./pipeline";
import { createPluginRuntime, type PluginRuntime } from "./runtime";
import { advertisedUrl, drain, listenOn, type BunServer, type ServerState } from "./server";
import { createServiceRegistry } from "./services";

export const BUNKER_VERSION = "0.1.0";
export type { ServerState } from "./server";

export interface BunkerOptions extends BootOptions {
  logSink?: LogSink;
}

export interface Bunker {
  readonly config: CoreConfig;
  readonly log: Logger;
  readonly db: Database;
  readonly keys: ApiKeyStore;
  readonly app: AnyElysia;
  readonly plugins: PluginRuntime[];
  readonly state: ServerState;
  readonly baseUrl: string;
  handle(request: Request): Promise<Response>;
  /** Runs start hooks and background tasks (listen() calls it). */
  start(): Promise<void>;
  listen(): Promise<{ url: string; port: number }>;
  stop(reason?: string): Promise<void>;
}

const CORE_PUBLIC = [/^\/health$/, /^\/readyz$/, /^\/metrics$/, /^\/docs(\/.*)?$/];
const KEY_COUNT_REFRESH_MS = 5_000;

export async function createBunker(options: BunkerOptions = {}): Promise<Bunker> {
  const { config, plugins: resolved, dataDir } = await loadConfiguration(options);
  const log = createLogger(config.debug ? "debug" : config.log.level, {}, options.logSink);
  log.debug("effective configuration", { config: describeConfig(config) });

  const loopback = isLoopback(config.server.host);
  const db = await openCoreDatabase({ config, plugins: resolved, dataDir });
  const keys = new ApiKeyStore(db);
  if ((await keys.refreshActiveCount()) === 0 && !loopback) {
    await db.close();
    throw new ConfigError(
      `refusing to listen on ${config.server.host} without API keys: create one with \`bun core/cli.ts keys create --user <id>\` or bind to 127.0.0.1`,
    );
  }
  const authRequired = () => config.auth.required || keys.hasActiveKeys() || !loopback;

  let state: ServerState = "starting";
  let server: BunServer | undefined;
  let listenUrl = advertisedUrl(config.server);
  const shutdown = new AbortController();
  const metrics = new MetricsRegistry();
  const services = createServiceRegistry();
  const publicPaths: RegExp[] = [...CORE_PUBLIC];
  const runtimes: PluginRuntime[] = [];

  const pipeline = requestPipeline({ metrics, log, debug: config.debug, refusing: () => state === "draining" || state === "stopped" });
  const health = createHealth({
    version: BUNKER_VERSION,
    db,
    state: () => state,
    pluginStates: () => Object.fromEntries(runtimes.map((p) => [p.name, p.state])),
  });
  const root = new Elysia({ name: "bunker-core" })
    .use(pipeline.plugin)
    .use(health.routes)
    .get("/metrics", () => new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }))
    .get("/plugins", () => ({ plugins: runtimes.map((p) => p.describe()), services: services.list() }))
    .use(apiKeyGuard({ keys, publicPaths, required: authRequired }));

  const keyRefresh = setInterval(() => void keys.refreshActiveCount().catch(() => undefined), KEY_COUNT_REFRESH_MS);
  keyRefresh.unref();

  /** Everything boot opened, closed in reverse: background work stops, plugins' stop hooks run, the database closes. */
  const release = async (reason: string, deadline?: number) => {
    shutdown.abort(new Error(`shutdown: ${reason}`));
    clearInterval(keyRefresh);
    for (const r of [...runtimes].reverse()) await r.stop(deadline);
    await db.close();
  };

  try {
    for (const plugin of resolved) {
      const runtime = await createPluginRuntime(plugin, {
        db, log, dataDir, metrics, services, signal: shutdown.signal, debug: config.debug,
        baseUrl: () => listenUrl,
        addPublicPaths: (patterns) => publicPaths.push(...patterns.map((p) => globToRegExp(plugin.prefix + (p.startsWith("/") ? p : "/" + p)))),
        normalizeError: (hook) => pipeline.normalize(hook),
        setHealthWarning: (key, message) => health.setWarning(`${plugin.def.name}.${key}`, message),
      });
      runtimes.push(runtime);
      if (!runtime.routes) continue;
      const mounted = root.routes.length;
      root.group(plugin.prefix, (g) => g.use(runtime.routes!));
      pipeline.adoptRoutes(root.routes.slice(mounted));
    }
  } catch (err) {
    await release("setup failed");
    throw err;
  }

  root.use(docsRoutes()).use(
    openapi({
      path: "/docs",
      provider: "swagger-ui",
      specPath: "/docs/json",
      swagger: { cdn: "/docs/assets/swagger-ui-bundle.js", theme: "/docs/assets/swagger-ui.css" },
      exclude: { paths: [/^\/docs/] },
      documentation: { info: { title: "Bunker", version: BUNKER_VERSION, description: "Plugins: " + runtimes.map((p) => p.name).join(", ") } },
    }),
  );

  if (!authRequired()) {
    log.warn("AUTH IS OFF: no API keys exist and the server is bound to loopback, so every local request is accepted as user \"local\". Create a key with `bun core/cli.ts keys create --user <id>` to require auth.");
  }

  let started = false;
  const bunker: Bunker = {
    config, log, db, keys, app: root, plugins: runtimes,
    get state() { return state; },
    get baseUrl() { return listenUrl; },
    handle: (request) => root.handle(request),
    async start() {
      if (started) return;
      started = true;
      for (const r of runtimes) await r.start();
      for (const r of runtimes) r.startBackground();
      state = "ready";
      health.invalidate();
      log.info("bunker ready", { plugins: runtimes.map((p) => p.name), url: listenUrl });
    },
    async listen() {
      try {
        server = listenOn(root, config.server);
        listenUrl = advertisedUrl(config.server, server.port);
        await bunker.start();
      } catch (err) {
        await bunker.stop("start failed");
        throw err;
      }
      return { url: listenUrl, port: server.port! };
    },
    async stop(reason = "stop requested") {
      if (state === "stopped" || state === "draining") return;
      state = "draining";
      // One budget for the whole drain: in-flight requests, then background tasks.
      const deadline = Date.now() + config.server.shutdownTimeoutMs;
      log.info("draining", { reason, in_flight: server?.pendingRequests ?? 0 });
      shutdown.abort(new Error(`shutdown: ${reason}`));
      if (server) await drain(server, deadline, log);
      await release(reason, deadline);
      state = "stopped";
      log.info("stopped", { reason });
    },
  };
  return bunker;
}
