// The agent host as other plugins see it: the "agent-runtime.host" service, resolved with
// ctx.services.require("agent-runtime.host") by a plugin that lists agent-runtime in dependsOn. Types only.
import type { Principal } from "bunker/core";
import type { AgentTemplate, CreateSessionBody, DeployResult, Session } from "./schema";

export type { AgentTemplate, CreateSessionBody, DeployResult, Session } from "./schema";

/** Every call is on behalf of `owner` (a user id): templates and sessions of other users are not found. */
export interface AgentHost {
  /** Deploys the agent project in a server directory (an absolute path inside the caller's deployRoots). A server
   * with API keys and no deployRoots refuses it (403 PATH_DEPLOY_DISABLED); only an open-mode principal (keyId null:
   * loopback, no keys) may deploy from anywhere. A user id stands for a keyed caller. */
  deploy(caller: Principal | string, input: { path: string; template_id?: string }): Promise<DeployResult>;
  /** Deploys an uploaded .tar.gz of an agent project. */
  deployArchive(owner: string, archive: ReadableStream<Uint8Array> | null, templateId?: string): Promise<DeployResult>;
  /** tags: comma-separated, all must match; name: a substring of the name or template id. */
  listTemplates(owner: string, filter: { tags?: string; name?: string }): Promise<AgentTemplate[]>;
  getTemplate(owner: string, templateId: string): Promise<AgentTemplate>;
  templateExists(owner: string, templateId: string): Promise<boolean>;
  /** A session is one sandbox running the agent; it is ready when the agent's /ping answers. */
  createSession(owner: string, input: CreateSessionBody): Promise<Session>;
  getSession(owner: string, sessionId: string): Promise<Session>;
  listSessions(owner: string): Promise<Session[]>;
  closeSession(owner: string, sessionId: string): Promise<Session>;
  /** Returns how many sessions were closed. */
  closeAllSessions(owner: string): Promise<number>;
  pause(owner: string, sessionId: string): Promise<Session>;
  resume(owner: string, sessionId: string): Promise<Session>;
  /** Extends the session's time to live (its own timeout when none is given). */
  refresh(owner: string, sessionId: string, timeoutSeconds?: number): Promise<Session>;
  /** Proxies request to the agent's /invocations; the answer (JSON or SSE) streams back unbuffered. */
  invoke(owner: string, sessionId: string, request: Request): Promise<Response>;
  ping(owner: string, sessionId: string, request: Request): Promise<Response>;
  /** One-shot: a fresh session, one invocation, the session closed once the answer ends. */
  invokeTemplate(owner: string, templateId: string, request: Request): Promise<Response>;
}

declare module "bunker/core" {
  interface BunkerServices {
    "agent-runtime.host": AgentHost;
  }
}
