// HTTP only: parse the TRD's requests, call the service, shape the response (or an SSE stream when asked).
import { badRequest, Elysia, principalOf } from "bunker/core";
import { envKey } from "./drivers/envfs";
import type { ProgressFn } from "./drivers/uv";
import { CleanupBody, CreateEnvBody, EnvParams, ListQuery, OperationsQuery, PackagesBody, RunBody, VersionQuery } from "./schema";
import type { Caller, EnvService } from "./service";
import { streamOperation, wantsEventStream } from "./sse";
import type { AuditStore } from "./store";
import { checkIds, parseRequirementsFile, type EnvIds } from "./validate";

interface RouteDeps {
  service: EnvService;
  audit: AuditStore;
  defaultVersion: string;
}

/** `packages` from JSON (an array) or form data (repeated fields, or one field holding a JSON array). */
function packagesFrom(value: string[] | string | undefined): string[] {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return items.flatMap((item) => {
    const text = item.trim();
    if (!text.startsWith("[")) return text ? [text] : [];
    try {
      const parsed = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === "string")) return parsed as string[];
    } catch {
      // fall through
    }
    throw badRequest("packages must be a list of strings", { packages: text }, "INVALID_PACKAGES");
  });
}

export function envRoutes({ service, audit, defaultVersion }: RouteDeps) {
  const ids = (params: { workflow_id: string; node_id: string }, query: { version_id?: string }): EnvIds => ({
    workflow_id: params.workflow_id,
    node_id: params.node_id,
    version_id: query.version_id ?? defaultVersion,
  });
  const caller = (request: Request, query: { wait?: number }, onProgress?: ProgressFn): Caller => ({
    actor: principalOf(request).userId,
    waitMs: query.wait ? query.wait * 1000 : 0,
    onProgress,
  });
  /** Long operations stream uv's progress as SSE when the client asks for text/event-stream. */
  const maybeStream = (request: Request, server: { timeout?(r: Request, s: number): void } | null, run: (p?: ProgressFn) => Promise<unknown>) => {
    if (!wantsEventStream(request)) return run();
    server?.timeout?.(request, 0);
    return streamOperation((onProgress) => run(onProgress));
  };

  return new Elysia()
    .get("/envs", ({ query }) => ({ envs: service.list(query.workflow_id) }), { query: ListQuery })
    .post(
      "/envs",
      async ({ body, query, request, server, set }) => {
        const packages = packagesFrom(body.packages);
        if (body.requirements_file) packages.push(...parseRequirementsFile(await body.requirements_file.text()));
        const target = { workflow_id: body.workflow_id, node_id: body.node_id, version_id: body.version_id ?? defaultVersion };
        if (!wantsEventStream(request)) set.status = 201;
        return maybeStream(request, server, (p) =>
          service.create(target, { python_version: body.python_version, packages }, caller(request, query, p)),
        );
      },
      { body: CreateEnvBody, query: VersionQuery },
    )
    .post(
      "/envs/cleanup",
      ({ body, request }) => service.cleanup(body ?? {}, { actor: principalOf(request).userId }),
      { body: CleanupBody },
    )
    .get(
      "/envs/operations",
      async ({ query }) => {
        const parts = [query.workflow_id, query.node_id, query.version_id];
        if (parts.some((p) => p !== undefined) && parts.some((p) => p === undefined)) {
          throw badRequest("give workflow_id, node_id and version_id together, or none of them");
        }
        const key = query.workflow_id
          ? envKey(checkIds({ workflow_id: query.workflow_id, node_id: query.node_id!, version_id: query.version_id! }))
          : undefined;
        return { operations: await audit.list({ envKey: key, limit: query.limit }) };
      },
      { query: OperationsQuery },
    )
    .get("/envs/:workflow_id/:node_id", ({ params, query }) => service.state(ids(params, query)), { params: EnvParams, query: VersionQuery })
    .delete(
      "/envs/:workflow_id/:node_id",
      ({ params, query, request }) => service.deleteEnv(ids(params, query), caller(request, query)),
      { params: EnvParams, query: VersionQuery },
    )
    .get("/envs/:workflow_id/:node_id/export", ({ params, query }) => service.exportFiles(ids(params, query)), { params: EnvParams, query: VersionQuery })
    .post(
      "/envs/:workflow_id/:node_id/sync",
      ({ params, query, request, server }) => maybeStream(request, server, (p) => service.sync(ids(params, query), caller(request, query, p))),
      { params: EnvParams, query: VersionQuery },
    )
    .get("/envs/:workflow_id/:node_id/deps", ({ params, query }) => service.deps(ids(params, query)), { params: EnvParams, query: VersionQuery })
    .post(
      "/envs/:workflow_id/:node_id/deps",
      ({ params, query, request, body, server }) =>
        maybeStream(request, server, (p) => service.addDeps(ids(params, query), body.packages, caller(request, query, p))),
      { params: EnvParams, query: VersionQuery, body: PackagesBody },
    )
    .delete(
      "/envs/:workflow_id/:node_id/deps",
      ({ params, query, request, body }) => service.removeDeps(ids(params, query), body.packages, caller(request, query)),
      { params: EnvParams, query: VersionQuery, body: PackagesBody },
    )
    .post(
      "/envs/:workflow_id/:node_id/run",
      ({ params, query, request, body }) => service.run(ids(params, query), body, caller(request, query)),
      { params: EnvParams, query: VersionQuery, body: RunBody },
    );
}
