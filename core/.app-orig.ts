// The kernel: loads config and plugins, builds one Elysia app, serves it, drains it.
import { openapi } from "@elysiajs/openapi";
import { Elysia, type AnyElysia } from "elysia";
import { mkdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ApiKeyStore, authMigrations, bearerToken, isLoopback, setPrincipal, OPEN_MODE_USER } from "./auth";
import { applyEnv, ConfigError, describeConfig, loadCoreConfig, readConfigFile, type CoreConfig } from "./config";
import { migrate, openDatabase, type Database } from "./db";
import { BunkerError, errorResponse, unauthorized, unavailable } from "./errors";
import { globToRegExp, pathOf, requestIdFrom, validationError } from "./http";
import { discoverBuiltins, loadExternal, resolvePlugins } from "./loader";
import { createLogger, type Logger, type LogSink } from "./logger";
import { MetricsRegistry } from "./metrics";
import type { PluginDefinition } from "./plugin";
import { createPluginRuntime, type PluginRuntime } from "./runtime";
import { createServiceRegistry } from "./services";
import { docsRoutes } from "./docs";

export const BUNKER_VERSION = "0.1.0";

export interface BunkerOptions {
  /** Path of bunker.yaml; `./bunker.yaml` is read when present. */
  configFile?: string;
  /** Raw config merged over the file (tests and embedding). */
  config?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Load the plugins in plugins/ (default true). */
  builtins?: boolean;
  /** Plugin definitions added in-process. */
  plugins?: PluginDefinition[];
  logSink?: LogSink;
}

export type ServerState = "starting" | "ready" | "draining" | "stopped";

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

const JSON_HEADERS = { "content-type": "application/json;charset=utf-8" };
const CORE_PUBLIC = [/^\/health$/, /^\/readyz$/, /^\/metrics$/, /^\/docs(\/.*)?$/];

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && prev && typeof prev === "object" && !Array.isArray(prev)
      ? mergeDeep(prev as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

async function collectPlugins(options: BunkerOptions, raw: Record<string, unknown>, baseDir: string) {
  const skipBuiltins = options.builtins === false || raw.builtins === false || raw.builtins === "false";
  const found = skipBuiltins ? [] : await discoverBuiltins();
  const extra = Array.isArray(raw.extraPlugins) ? (raw.extraPlugins as unknown[]) : [];
  for (const spec of extra) {
    if (typeof spec !== "string") throw new ConfigError(`invalid configuration:\n  config.extraPlugins: each entry must be a package name or path`);
    found.push(await loadExternal(spec, baseDir));
  }
  for (const def of options.plugins ?? []) found.push({ def, source: "(in-process)" });
  return found;
}

export async function createBunker(options: BunkerOptions = {}): Promise<Bunker> {
  const env = options.env ?? process.env;
  const file = readConfigFile(options.configFile ?? env.BUNKER_CONFIG);
  const merged = mergeDeep(file.config, options.config ?? {});
  const found = await collectPlugins(options, merged, file.baseDir);
  const raw = applyEnv(merged, env, new Map(found.map((f) => [f.def.name, f.def.config])));
  const config = loadCoreConfig(raw);
  const resolved = resolvePlugins(found, config);

  const log = createLogger(config.debug ? "debug" : config.log.level, {}, options.logSink);
  log.debug("effective configuration", { config: describeConfig(config) });
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(file.baseDir, config.dataDir);
  mkdirSync(dataDir, { recursive: true });

  const loopback = isLoopback(config.server.host);
  const db = openDatabase({ url: config.databaseUrl, sqlitePath: join(dataDir, "bunker.db") });
  await migrate(db, "core", authMigrations);
  const keys = new ApiKeyStore(db);
  if ((await keys.refreshActiveCount()) === 0 && !loopback) {
    throw new ConfigError(
      `refusing to listen on ${config.server.host} without API keys: create one with \`bun core/cli.ts keys create --user <id>\` or bind to 127.0.0.1`,
    );
  }

  let state: ServerState = "starting";
  let server: ReturnType<AnyElysia["listen"]>["server"] = null;
  const shutdown = new AbortController();
  const metrics = new MetricsRegistry();
  const services = createServiceRegistry();
  const publicPaths: RegExp[] = [...CORE_PUBLIC];
  const errorFormatters: Array<{ prefix: string; format: (e: BunkerError, id: string, request: Request) => Response }> = [];
  const startedAt = Date.now();
  let listenUrl = config.server.baseUrl ?? `http://${config.server.host === "0.0.0.0" ? "127.0.0.1" : config.server.host}:${config.server.port}`;
  // Per-request bookkeeping rides on Elysia's per-request `set` object: cheaper than WeakMaps keyed by Request.
  type Tracked = { headers: Record<string, unknown>; bunkerStart?: number; bunkerId?: string };
  const requestIdOf = (request: Request, set: Tracked) => (set.bunkerId ??= requestIdFrom(request));

  const authRequired = () => config.auth.required || keys.hasActiveKeys() || !loopback;

  const formatError = (error: BunkerError, request: Request, id: string, set?: Tracked, countHere = false): Response => {
    const path = pathOf(request.url);
    const f = errorFormatters.find((x) => path === x.prefix || path.startsWith(x.prefix + "/"));
    const res = f ? f.format(error, id, request) : errorResponse(error, id);
    res.headers.set("x-request-id", id);
    // Unmatched requests never reach mapResponse, so they are counted here; everything else is counted there.
    if (countHere && set?.bunkerStart !== undefined) {
      metrics.observeRequest(request.method, "unmatched", res.status, (performance.now() - set.bunkerStart) / 1000);
    }
    return res;
  };

  // Per-request cost matters (bench/core.ts): onRequest stays synchronous and never touches set.headers (that
  // switches Elysia to a slower response path, ~2 µs); the request id goes onto the Response in mapResponse instead.
  const root = new Elysia({ name: "bunker-core" })
    .onRequest(({ request, set }) => {
      (set as Tracked).bunkerStart = performance.now();
      if (state === "draining" || state === "stopped") {
        const id = requestIdOf(request, set as Tracked);
        const res = errorResponse(unavailable("server is shutting down", undefined, "SHUTTING_DOWN"), id);
        res.headers.set("connection", "close");
        res.headers.set("x-request-id", id);
        return res;
      }
    })
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      const tracked = set as Tracked;
      const id = requestIdOf(request, tracked);
      // Elysia reads `error.code`, so a thrown BunkerError("NOT_FOUND") also arrives as code NOT_FOUND.
      const unmatched = code === "NOT_FOUND" && !(error instanceof BunkerError);
      const fail = (e: BunkerError) => formatError(e, request, id, tracked, unmatched);
      if (error instanceof BunkerError) return fail(error);
      if (code === "VALIDATION") return fail(validationError(error));
      if (code === "NOT_FOUND") return fail(new BunkerError(404, "ROUTE_NOT_FOUND", `no route for ${request.method} ${pathOf(request.url)}`));
      if (code === "PARSE") return fail(new BunkerError(400, "INVALID_BODY", `the request body could not be parsed: ${(error as Error).message}`));
      const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 500;
      if (status < 500) return fail(new BunkerError(status, "BAD_REQUEST", (error as Error).message ?? "bad request"));
      log.error("unhandled error", { request_id: id, method: request.method, path: pathOf(request.url), error });
      const details = config.debug ? { stack: (error as Error).stack } : undefined;
      return fail(new BunkerError(500, "INTERNAL_ERROR", `internal error (request id ${id})`, details));
    })
    // mapResponse, not onAfterResponse: the latter schedules a setImmediate per request.
    .mapResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const tracked = set as Tracked;
      const start = tracked.bunkerStart;
      if (start === undefined) return;
      const id = requestIdOf(request, tracked);
      let replaced: Response | undefined;
      let status = typeof set.status === "number" ? set.status : 200;
      if (responseValue instanceof Response) {
        status = responseValue.status;
        try {
          responseValue.headers.set("x-request-id", id);
        } catch {
          // Immutable headers (a proxied fetch() response): re-wrap without copying the body.
          replaced = new Response(responseValue.body, responseValue);
          replaced.headers.set("x-request-id", id);
        }
      } else set.headers["x-request-id"] = id;
      metrics.observeRequest(request.method, route || "unmatched", status, (performance.now() - start) / 1000);
      return replaced;
    })
    .get("/health", () => new Response(health.body(), { headers: JSON_HEADERS }))
    .get("/readyz", async ({ set }) => {
      if (state !== "ready") {
        set.status = 503;
        return { status: state === "starting" ? "starting" : "draining", ready: false, state };
      }
      try {
        await db.ping();
      } catch (err) {
        set.status = 503;
        return { status: "unavailable", ready: false, state, reason: `database: ${(err as Error).message}` };
      }
      return { status: "ok", ready: true, state };
    })
    .get("/metrics", () => new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }))
    .get("/plugins", () => ({
      plugins: runtimes.map((p) => p.describe()),
      services: services.list(),
    }));

  // Registered after the core's public routes so they stay synchronous; applies to every plugin route.
  root.onTransform({ as: "global" }, async ({ request }) => {
    const path = pathOf(request.url);
    if (publicPaths.some((p) => p.test(path))) return;
    if (!authRequired()) return void setPrincipal(request, { userId: OPEN_MODE_USER, keyId: null });
    const token = bearerToken(request);
    const principal = token ? await keys.verify(token) : null;
    if (!principal) throw unauthorized(token ? "Invalid or revoked API key" : "Missing API key: send Authorization: Bearer <key>");
    setPrincipal(request, principal);
  });

  const healthWarnings = new Map<string, string>();
  // /health is polled hard (load balancers, the core bench): its body is rebuilt at most every 250 ms.
  let healthCache = { at: 0, body: "" };
  const health = {
    warnings: () => [...healthWarnings.entries()].map(([key, message]) => ({ key, message })),
    invalidate: () => void (healthCache.at = 0),
    body() {
      const now = Date.now();
      if (now - healthCache.at < 250) return healthCache.body;
      const warnings = health.warnings();
      const body = JSON.stringify({
        status: warnings.length ? "degraded" : "ok",
        version: BUNKER_VERSION,
        uptime_seconds: Math.round((now - startedAt) / 1000),
        plugins: Object.fromEntries(runtimes.map((p) => [p.name, p.state])),
        warnings,
      });
      healthCache = { at: now, body };
      return body;
    },
  };

  const runtimes: PluginRuntime[] = [];
  for (const plugin of resolved) {
    const runtime = await createPluginRuntime(plugin, {
      db, log, dataDir, metrics, services, signal: shutdown.signal, debug: config.debug,
      baseUrl: () => listenUrl,
      addPublicPaths: (patterns) => publicPaths.push(...patterns.map((p) => globToRegExp(plugin.prefix + (p.startsWith("/") ? p : "/" + p)))),
      setErrorFormat: (format) => errorFormatters.push({ prefix: plugin.prefix, format }),
      setHealthWarning: (key, message) => {
        if (message) healthWarnings.set(`${plugin.def.name}.${key}`, message);
        else healthWarnings.delete(`${plugin.def.name}.${key}`);
        health.invalidate();
      },
    });
    runtimes.push(runtime);
    if (runtime.routes) root.group(plugin.prefix, (g) => g.use(runtime.routes!));
  }
  errorFormatters.sort((a, b) => b.prefix.length - a.prefix.length);
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

  const keyRefresh = setInterval(() => void keys.refreshActiveCount().catch(() => undefined), 5_000);
  keyRefresh.unref();

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
      root.listen({ hostname: config.server.host, port: config.server.port, maxRequestBodySize: config.server.maxRequestBodySize });
      server = root.server;
      if (!config.server.baseUrl) listenUrl = `http://${config.server.host === "0.0.0.0" ? "127.0.0.1" : config.server.host}:${server!.port}`;
      try {
        await bunker.start();
      } catch (err) {
        await bunker.stop("start failed");
        throw err;
      }
      return { url: listenUrl, port: server!.port! };
    },
    async stop(reason = "stop requested") {
      if (state === "stopped" || state === "draining") return;
      state = "draining";
      log.info("draining", { reason, in_flight: server?.pendingRequests ?? 0 });
      shutdown.abort(new Error(`shutdown: ${reason}`));
      if (server) {
        const s = server;
        const drained = s.stop(false);
        const deadline = Date.now() + config.server.shutdownTimeoutMs;
        while (s.pendingRequests > 0 && Date.now() < deadline) await Bun.sleep(10);
        if (s.pendingRequests > 0) log.warn("drain timeout: closing remaining connections", { in_flight: s.pendingRequests });
        await Promise.race([drained, Bun.sleep(50)]);
        await s.stop(true);
      }
      clearInterval(keyRefresh);
      for (const r of [...runtimes].reverse()) await r.stop();
      await db.close();
      state = "stopped";
      log.info("stopped", { reason });
    },
  };
  return bunker;
}
