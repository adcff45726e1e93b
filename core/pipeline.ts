// The per-request pipeline every route runs through: the request id, refusing new work while draining, one error
// body for every failure, request metrics, and API-key auth for non-public paths.
import { Elysia, type AnyElysia } from "elysia";
import { bearerToken, OPEN_MODE_USER, setPrincipal, type ApiKeyStore } from "./auth";
import { BunkerError, coreErrors, errorResponse } from "./errors";
import { pathOf, requestIdFrom, validationError } from "./http";
import type { Logger } from "./logger";
import type { MetricsRegistry } from "./metrics";

/** What an Elysia onError hook receives, as far as error normalisation needs it. */
export interface ErrorHookContext {
  code: string | number;
  error: unknown;
  request: Request;
  set?: unknown;
}

export interface PipelineOptions {
  metrics: MetricsRegistry;
  log: Logger;
  /** Stacks in 500 bodies. */
  debug: boolean;
  /** True while the server drains or has stopped: new requests get 503 SHUTTING_DOWN. */
  refusing(): boolean;
}

export interface RequestPipeline {
  /** Use it on the root app before any route: its hooks are global. */
  readonly plugin: AnyElysia;
  /** ctx.toBunkerError: any error a route raised (validation, parse, thrown) as the one error type, logged when it is
   * unexpected, for plugins that render errors in their own shape with a local onError. */
  normalize(hook: ErrorHookContext): BunkerError;
  /** Call after mounting a plugin: its routes that carry an onError of their own render their errors with it. */
  adoptRoutes(routes: AnyElysia["routes"]): void;
}

// Per-request bookkeeping rides on Elysia's per-request `set` object: cheaper than WeakMaps keyed by Request.
type Tracked = { headers: Record<string, unknown>; bunkerStart?: number; bunkerId?: string };
const requestIdOf = (request: Request, set: Tracked) => (set.bunkerId ??= requestIdFrom(request));

export function requestPipeline(options: PipelineOptions): RequestPipeline {
  const { metrics, log } = options;
  /** Route templates whose plugin renders errors itself (Elysia runs the core's global hook first otherwise). */
  const ownErrorRoutes = new Set<string>();

  const render = (error: BunkerError, request: Request, id: string, set: Tracked, unmatched: boolean): Response => {
    const res = errorResponse(error, id);
    res.headers.set("x-request-id", id);
    // Unmatched requests never reach mapResponse, so they are counted here; everything else is counted there.
    if (unmatched && set.bunkerStart !== undefined) {
      metrics.observeRequest(request.method, "unmatched", res.status, (performance.now() - set.bunkerStart) / 1000);
    }
    return res;
  };

  const toBunkerError = (code: string | number, error: unknown, request: Request, id: string): BunkerError => {
    if (error instanceof BunkerError) return error;
    if (code === "VALIDATION") return validationError(error);
    if (code === "NOT_FOUND") return coreErrors.ROUTE_NOT_FOUND(`no route for ${request.method} ${pathOf(request.url)}`);
    if (code === "PARSE") return coreErrors.INVALID_BODY(`the request body could not be parsed: ${(error as Error).message}`);
    const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 500;
    if (status < 500) return new BunkerError(status, "BAD_REQUEST" satisfies keyof typeof coreErrors.table, (error as Error).message ?? "bad request");
    log.error("unhandled error", { request_id: id, method: request.method, path: pathOf(request.url), error });
    return coreErrors.INTERNAL_ERROR(`internal error (request id ${id})`, options.debug ? { stack: (error as Error).stack } : undefined);
  };

  const renderError = ({ code, error, request, set, route }: { code: string | number; error: unknown; request: Request; set: unknown; route?: string }) => {
    if (route && ownErrorRoutes.has(route)) return; // the plugin's own onError answers
    const tracked = set as Tracked;
    const id = requestIdOf(request, tracked);
    // Elysia reads `error.code`, so a thrown BunkerError("NOT_FOUND") also arrives as code NOT_FOUND.
    const unmatched = code === "NOT_FOUND" && !(error instanceof BunkerError);
    return render(toBunkerError(code, error, request, id), request, id, tracked, unmatched);
  };

  // Per-request cost matters (bench/core.ts): onRequest stays synchronous and never touches set.headers (that
  // switches Elysia to a slower response path, ~2 µs); the request id goes onto the Response in mapResponse instead.
  const plugin = new Elysia()
    .onRequest(({ request, set }) => {
      (set as Tracked).bunkerStart = performance.now();
      if (options.refusing()) {
        const id = requestIdOf(request, set as Tracked);
        const res = errorResponse(coreErrors.SHUTTING_DOWN("server is shutting down"), id);
        res.headers.set("connection", "close");
        res.headers.set("x-request-id", id);
        return res;
      }
    })
    .onError({ as: "global" }, renderError)
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
    });

  return {
    plugin,
    normalize: ({ code, error, request, set }) =>
      toBunkerError(code, error, request, set ? requestIdOf(request, set as Tracked) : requestIdFrom(request)),
    adoptRoutes(routes) {
      for (const route of routes) {
        const handlers = ((route.hooks as { error?: Array<{ fn: unknown; scope?: string }> } | undefined)?.error ?? []);
        if (handlers.some((h) => h.fn !== renderError && h.scope !== "global")) ownErrorRoutes.add(route.path);
      }
    },
  };
}

export interface ApiKeyGuardOptions {
  keys: ApiKeyStore;
  /** Paths that skip auth (the core's own and what plugins declare with ctx.publicPaths). */
  publicPaths: RegExp[];
  required(): boolean;
}

/** API-key auth on every route registered after it: use it after the core's public routes so they stay synchronous. */
export function apiKeyGuard(options: ApiKeyGuardOptions): AnyElysia {
  return new Elysia().onTransform({ as: "global" }, async ({ request }) => {
    const path = pathOf(request.url);
    if (options.publicPaths.some((p) => p.test(path))) return;
    if (!options.required()) return void setPrincipal(request, { userId: OPEN_MODE_USER, keyId: null });
    const token = bearerToken(request);
    const principal = token ? await options.keys.verify(token) : null;
    if (!principal) throw coreErrors.UNAUTHORIZED(token ? "Invalid or revoked API key" : "Missing API key: send Authorization: Bearer <key>");
    setPrincipal(request, principal);
  });
}
