// /health (liveness, version, plugin states, warnings) and /readyz (started and the database answers).
import { Elysia, type AnyElysia } from "elysia";
import type { Database } from "./db";
import type { ServerState } from "./server";

const JSON_HEADERS = { "content-type": "application/json;charset=utf-8" };
/** /health is polled hard (load balancers, the core bench): its body is rebuilt at most this often. */
const HEALTH_CACHE_MS = 250;

export interface HealthOptions {
  version: string;
  state(): ServerState;
  pluginStates(): Record<string, string>;
  db: Database;
}

export interface Health {
  readonly routes: AnyElysia;
  /** A warning shown in /health under key; null clears it. */
  setWarning(key: string, message: string | null): void;
  /** Rebuild the cached body on the next request (a state changed). */
  invalidate(): void;
}

export function createHealth(options: HealthOptions): Health {
  const startedAt = Date.now();
  const warnings = new Map<string, string>();
  let cache = { at: 0, body: "" };

  const body = () => {
    const now = Date.now();
    if (now - cache.at < HEALTH_CACHE_MS) return cache.body;
    const shown = [...warnings.entries()].map(([key, message]) => ({ key, message }));
    cache = {
      at: now,
      body: JSON.stringify({
        status: shown.length ? "degraded" : "ok",
        version: options.version,
        uptime_seconds: Math.round((now - startedAt) / 1000),
        plugins: options.pluginStates(),
        warnings: shown,
      }),
    };
    return cache.body;
  };

  const routes = new Elysia()
    .get("/health", () => new Response(body(), { headers: JSON_HEADERS }))
    .get("/readyz", async ({ set }) => {
      const state = options.state();
      if (state !== "ready") {
        set.status = 503;
        return { status: state === "starting" ? "starting" : "draining", ready: false, state };
      }
      try {
        await options.db.ping();
      } catch (err) {
        set.status = 503;
        return { status: "unavailable", ready: false, state, reason: `database: ${(err as Error).message}` };
      }
      return { status: "ok", ready: true, state };
    });

  return {
    routes,
    setWarning(key, message) {
      if (message) warnings.set(key, message);
      else warnings.delete(key);
      cache.at = 0;
    },
    invalidate: () => void (cache.at = 0),
  };
}
