// HTTP for the agent host: deploys, templates, sessions, invocations (proxied, streaming).
import { Elysia, principalOf, t } from "bunker/core";
import {
  CreateSessionBodySchema,
  DeployBodySchema,
  ListTemplatesQuerySchema,
  RefreshBodySchema,
  TemplateIdSchema,
} from "./schema";
import type { AgentHost } from "./contract";

const idParams = t.Object({ id: TemplateIdSchema });

export function agentRoutes(host: AgentHost) {
  const owner = (request: Request) => principalOf(request).userId;
  return (
    new Elysia({ name: "agent-runtime.routes" })
      .post("/agents/deploy", async ({ body, request, set }) => {
        set.status = 201;
        return host.deploy(principalOf(request), body);
      }, { body: DeployBodySchema, detail: { summary: "Deploy an agent project directory as a template version" } })
      .post("/agents/deploy/archive", async ({ query, request, set }) => {
        const result = await host.deployArchive(owner(request), request.body, query.template_id);
        set.status = 201;
        return result;
      }, {
        query: t.Object({ template_id: t.Optional(TemplateIdSchema) }),
        parse: "none",
        detail: { summary: "Deploy an uploaded agent project (.tar.gz body)" },
      })
      .get("/templates", async ({ query, request }) => ({ templates: await host.listTemplates(owner(request), query) }), {
        query: ListTemplatesQuerySchema,
      })
      .get("/templates/:id", ({ params, request }) => host.getTemplate(owner(request), params.id), { params: idParams })
      .get("/templates/:id/exists", async ({ params, request }) => ({ exists: await host.templateExists(owner(request), params.id) }), {
        params: idParams,
      })
      .post("/templates/:id/invocations", ({ params, request, server }) => {
        server?.timeout(request, 0); // streams may stay quiet longer than the idle timeout
        return host.invokeTemplate(owner(request), params.id, request);
      }, { params: idParams, parse: "none", detail: { summary: "One-shot: a fresh session, one invocation, closed after" } })
      .post("/sessions", async ({ body, request, set }) => {
        set.status = 201;
        return host.createSession(owner(request), body);
      }, { body: CreateSessionBodySchema })
      .get("/sessions", async ({ request }) => ({ sessions: await host.listSessions(owner(request)) }))
      .delete("/sessions", async ({ request }) => ({ closed: await host.closeAllSessions(owner(request)) }))
      .get("/sessions/:id", ({ params, request }) => host.getSession(owner(request), params.id), { params: idParams })
      .delete("/sessions/:id", ({ params, request }) => host.closeSession(owner(request), params.id), { params: idParams })
      .post("/sessions/:id/pause", ({ params, request }) => host.pause(owner(request), params.id), { params: idParams })
      .post("/sessions/:id/resume", ({ params, request }) => host.resume(owner(request), params.id), { params: idParams })
      .post("/sessions/:id/refresh", ({ params, body, request }) => host.refresh(owner(request), params.id, body?.timeout_seconds), {
        params: idParams,
        body: t.Optional(RefreshBodySchema),
      })
      .get("/sessions/:id/ping", ({ params, request }) => host.ping(owner(request), params.id, request), { params: idParams })
      .post("/sessions/:id/invocations", ({ params, request, server }) => {
        server?.timeout(request, 0);
        return host.invoke(owner(request), params.id, request);
      }, { params: idParams, parse: "none" })
  );
}
