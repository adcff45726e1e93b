// HTTP only: parse the TRD's requests, call the service, shape the response (or an SSE stream when asked).
import { Elysia, ownerScope, principalOf, quoted, validationFailed } from "bunker/core";
import { envKey } from "./drivers/envfs";
import type { ProgressFn } from "./drivers/uv";
import { errors } from "./errors";
import { CleanupBody, CreateEnvBody, EnvParams, ListQuery, OperationsQuery, PackagesBody, RunBody, VersionQuery } from "./schema";
import type { Caller, EnvService } from "./service";
import { streamOperation, wantsEventStream } from "./sse";
import type { AuditStore } from "./store";
import { checkIds, parseRequirementsFile, QUOTE_LENGTH, type EnvIds } from "./validate";

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
    throw errors.INVALID_PACKAGES("packages must be a list of strings", { packages: quoted(text, QUOTE_LENGTH) });
  });
}

export function envRoutes({ service, audit, defaultVersion }: RouteDeps) {
  /** The env a request names; someone else's (unless the caller is an admin) is 404 like a missing one. */
  const envOf = (request: Request, params: { workflow_id: string; node_id: string }, query: { version_id?: string; owner?: string }) =>
    service.envOf(
      principalOf(request),
      { workflow_id: params.workflow_id, node_id: params.node_id, version_id: query.version_id ?? defaultVersion },
      query.owner,
    );
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
    .get("/envs", ({ query, request }) => ({ envs: service.list(principalOf(request), { workflowId: query.workflow_id, owner: query.owner }) }), {
      query: ListQuery,
    })
    .post(
      "/envs",
      async ({ body, query, request, server, set }) => {
        const target = envOf(request, body, { version_id: body.version_id, owner: query.owner });
        const packages = packagesFrom(body.packages);
        if (body.requirements_file) packages.push(...parseRequirementsFile(await body.requirements_file.text()));
        if (!wantsEventStream(request)) set.status = 201;
        return maybeStream(request, server, (p) =>
          service.create(target, { python_version: body.python_version, packages }, caller(request, query, p)),
        );
      },
      { body: CreateEnvBody, query: VersionQuery },
    )
    .post(
      "/envs/cleanup",
      ({ body, request }) => {
        const principal = principalOf(request);
        // A user's cleanup is of their own envs; an admin's of everyone's.
        return service.cleanup(body ?? {}, { actor: principal.userId }, ownerScope(principal)!.owner);
      },
      { body: CleanupBody },
    )
    .get(
      "/envs/operations",
      async ({ query, request }) => {
        const parts = { workflow_id: query.workflow_id, node_id: query.node_id, version_id: query.version_id };
        const given = Object.values(parts).filter((p) => p !== undefined).length;
        if (given !== 0 && given !== 3) {
          const missing = Object.entries(parts).filter(([, v]) => v === undefined);
          throw validationFailed("query", missing.map(([field]) => ({ field, message: "is required with the others (give workflow_id, node_id and version_id together, or none of them)" })));
        }
        const key = given ? envKey(checkIds(parts as EnvIds)) : undefined;
        // Users see the rows of their own envs; admins everyone's (or one owner's with ?owner=).
        const scope = ownerScope(principalOf(request), query.owner);
        if (!scope) return { operations: [] };
        return { operations: await audit.list({ owner: scope.owner, envKey: key, limit: query.limit }) };
      },
      { query: OperationsQuery },
    )
    .get("/envs/:workflow_id/:node_id", ({ params, query, request }) => service.state(envOf(request, params, query)), {
      params: EnvParams,
      query: VersionQuery,
    })
    .delete(
      "/envs/:workflow_id/:node_id",
      ({ params, query, request }) => service.deleteEnv(envOf(request, params, query), caller(request, query)),
      { params: EnvParams, query: VersionQuery },
    )
    .get("/envs/:workflow_id/:node_id/export", ({ params, query, request }) => service.exportFiles(envOf(request, params, query)), {
      params: EnvParams,
      query: VersionQuery,
    })
    .post(
      "/envs/:workflow_id/:node_id/sync",
      ({ params, query, request, server }) => {
        const env = envOf(request, params, query);
        return maybeStream(request, server, (p) => service.sync(env, caller(request, query, p)));
      },
      { params: EnvParams, query: VersionQuery },
    )
    .get("/envs/:workflow_id/:node_id/deps", ({ params, query, request }) => service.deps(envOf(request, params, query)), {
      params: EnvParams,
      query: VersionQuery,
    })
    .post(
      "/envs/:workflow_id/:node_id/deps",
      ({ params, query, request, body, server }) => {
        const env = envOf(request, params, query);
        return maybeStream(request, server, (p) => service.addDeps(env, body.packages, caller(request, query, p)));
      },
      { params: EnvParams, query: VersionQuery, body: PackagesBody },
    )
    .delete(
      "/envs/:workflow_id/:node_id/deps",
      ({ params, query, request, body }) => service.removeDeps(envOf(request, params, query), body.packages, caller(request, query)),
      { params: EnvParams, query: VersionQuery, body: PackagesBody },
    )
    .post(
      "/envs/:workflow_id/:node_id/run",
      ({ params, query, request, body }) => service.run(envOf(request, params, query), body, caller(request, query)),
      { params: EnvParams, query: VersionQuery, body: RunBody },
    );
}
