// The agent host's rules: deploys (agent project → template version), sessions (one sandbox each, ready when
// /ping answers), invocations proxied to the agent through the sandbox gateway without buffering.
import { mkdirSync } from "node:fs";
import { posix } from "node:path";
import { BunkerError, parseCpuCores, parseMemoryMiB, type IsolationService, type Logger, type Principal } from "bunker/core";
import { withUnpackedProject, type ArchiveLimits } from "./archive";
import { errors } from "./errors";
import { buildDependencies, type DependencyBuildOptions } from "./dependencies";
import { entrypointCommand, type AgentConfig, type AgentStatus } from "bunker/agent-config";
import { resolveDeployPath, type ProjectSource } from "./deploy-path";
import { configFileName, loadProjectConfig, writeProjectStatus, type ProjectConfig } from "./project-config";
import { readProject, type ProjectFile, type ProjectLimits } from "./project-files";
import { SKIPPED } from "./skipped";
import { AGENT_PORT, type AgentSandboxBackend } from "./drivers/backend";
import { boundedBody, FORWARDED, MAX_INVOCATION_BYTES, passThrough, RETURNED, SMALL_BODY_BYTES } from "./proxy";
import { BUNKER_SESSION_HEADER, REQUEST_ID_HEADER, SESSION_HEADER } from "./runtime/context";
import type { AgentHost } from "./contract";
import type { AgentTemplate, DeployResult, Session } from "./schema";
import type { AgentStore, SessionRow, TemplateRow } from "./store";

export interface AgentHostOptions {
  store: AgentStore;
  /** Resolved at use time: the liteboxd plugin may load after this one. */
  backend: () => AgentSandboxBackend | undefined;
  log: Logger;
  /** Base URL of the plugin's routes, e.g. http://127.0.0.1:8080/agent-runtime. */
  routesUrl: () => string;
  defaultSessionTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  /** An active session without an invocation for this long reads as "inactive" (until its next one). */
  inactiveAfterSeconds: number;
  /** Uploaded projects: where they are unpacked (in a sandbox) and the caps checked while they stream. */
  archives: ArchiveLimits;
  /** The most a project may hold (files read from disk, SKIPPED folders aside). */
  project: ProjectLimits;
  /** Real paths path-deploys must lie under (`{user}` is the caller's user id). Empty: path deploys only in open mode. */
  deployRoots: string[];
  /** How a project's npm dependencies are installed at deploy time. */
  dependencies: Omit<DependencyBuildOptions, "isolation">;
  /** The sandbox uploads are unpacked and dependencies installed in, when available (resolved at use time). */
  isolation: () => IsolationService | undefined;
}

const now = () => new Date().toISOString();
const plusSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const randomId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
const ownerOf = (caller: Principal | string) => (typeof caller === "string" ? caller : caller.userId);

/** What the plugin itself drives besides the contract: the idle-session reaper. */
export interface AgentHostLifecycle extends AgentHost {
  /** Closes sessions idle past the idle timeout or past their TTL, marks vanished sandboxes; returns how many closed. */
  reap(): Promise<number>;
}

export function createAgentHost(opts: AgentHostOptions): AgentHostLifecycle {
  const { store, log } = opts;
  /** Answers still streaming, per session. */
  const inFlight = new Map<string, number>();

  const backend = (): AgentSandboxBackend => {
    const b = opts.backend();
    if (!b) throw errors.SANDBOXES_UNAVAILABLE("Agent sessions need the liteboxd plugin's sandboxes, which are not loaded");
    const status = b.status();
    if (!status.available) throw errors.SANDBOXES_UNAVAILABLE(`Sandboxes are unavailable: ${status.reason ?? "unknown reason"}`);
    return b;
  };

  const templateView = (row: TemplateRow): AgentTemplate => ({
    template_id: row.template_id,
    name: row.name,
    version: row.version,
    description: row.description ?? undefined,
    author: row.author ?? undefined,
    tags: row.tags,
    created_at: row.created_at,
    updated_at: row.updated_at,
    status: row.phase,
    template_version: row.template_version,
    metadata: { agent: row.config },
    size: row.size ?? undefined,
    build_time: row.build_time ?? undefined,
  });

  const sessionView = (row: SessionRow): Session => {
    const t = Date.now();
    const idleSeconds = (t - Date.parse(row.last_activity)) / 1000;
    // Derived, not stored: the next invocation makes the session active again without a write.
    const quiet = row.status === "active" && idleSeconds >= opts.inactiveAfterSeconds && !inFlight.has(row.session_id);
    const view: Session = {
      session_id: row.session_id,
      sandbox_id: row.session_id,
      template_id: row.template_id,
      status: quiet ? "inactive" : row.status,
      created_at: row.created_at,
      last_activity: row.last_activity,
      expires_at: row.expires_at,
      age_seconds: (t - Date.parse(row.created_at)) / 1000,
      idle_seconds: idleSeconds,
      host_url: `${opts.routesUrl()}/sessions/${row.session_id}`,
    };
    if (row.error) view.error = row.error;
    return view;
  };

  async function ownTemplate(owner: string, id: string): Promise<TemplateRow> {
    const row = await store.getTemplate(id);
    if (!row || row.owner !== owner) throw errors.TEMPLATE_NOT_FOUND(`Template ${id} not found`, { template_id: id });
    return row;
  }

  async function ownSession(owner: string, id: string): Promise<SessionRow> {
    const row = await store.getSession(id);
    if (!row || row.owner !== owner || row.status === "closed") {
      throw errors.SESSION_NOT_FOUND(`Session ${id} not found`, { session_id: id });
    }
    return row;
  }

  /** A path deploy: the server's directory, checked against the caller's deploy roots; agent.yaml gets the status. */
  async function deployPath(caller: Principal | string, input: { path: string; template_id?: string }): Promise<DeployResult> {
    const source = resolveDeployPath(caller, input.path, opts.deployRoots);
    return deploy(ownerOf(caller), source, { templateId: input.template_id, uploaded: false });
  }

  /** An uploaded .tar.gz project, unpacked in a sandbox into a staging directory that is removed afterwards. */
  async function deployArchive(owner: string, archive: ReadableStream<Uint8Array> | null, templateId?: string): Promise<DeployResult> {
    const limits = { ...opts.archives, isolation: opts.isolation() };
    return withUnpackedProject(archive, limits, (root) => deploy(owner, { root, configName: "agent.yaml" }, { templateId, uploaded: true }));
  }

  /** The status into the project's agent.yaml (path deploys only); a read-only project keeps it in the database. */
  function recordInProject(source: ProjectSource, loaded: ProjectConfig, status: AgentStatus): void {
    try {
      if (!writeProjectStatus(source, loaded, status)) log.debug("agent.yaml not updated: not a regular file", { root: source.root });
    } catch (error) {
      log.debug("agent.yaml not updated", { error: String(error) });
    }
  }

  /** The entrypoint must be one of the files shipped (not only somewhere on disk, e.g. in a skipped .venv). */
  function checkEntrypoint(files: ProjectFile[], config: AgentConfig, file: string): void {
    const entrypoint = config.spec.entrypoint;
    const shipped = posix.normalize(entrypoint);
    if (files.some((f) => f.path === shipped)) return;
    const folder = shipped.split("/").slice(0, -1).find((part) => SKIPPED.includes(part));
    throw errors.INVALID_AGENT_CONFIG(
      folder
        ? `${file}: spec.entrypoint: ${entrypoint} is inside ${folder}, which is never shipped with an agent project (${SKIPPED.join(", ")})`
        : `${file}: spec.entrypoint: ${entrypoint} does not exist in the project`,
    );
  }

  async function deploy(owner: string, source: ProjectSource, how: { templateId?: string; uploaded: boolean }): Promise<DeployResult> {
    // Read once, within the project's limits: agent.yaml, the entrypoint and everything shipped come from this. A
    // project that cannot be read (too large, a link out) still fails as a build of its agent.yaml (read alone then),
    // recorded with its status, as long as that agent.yaml is valid.
    let files: ProjectFile[] | undefined;
    let unreadable: unknown;
    try {
      files = readProject(source.root, opts.project);
    } catch (error) {
      unreadable = error;
    }
    const loaded = loadProjectConfig(source, files ?? [], how.uploaded);
    const { config } = loaded;
    if (files) checkEntrypoint(files, config, configFileName(source, how.uploaded));
    const templateId = how.templateId ?? config.metadata.name;
    const existing = await store.getTemplate(templateId);
    if (existing && existing.owner !== owner) throw errors.TEMPLATE_TAKEN(`Template ${templateId} belongs to another user`, { template_id: templateId });
    const started = performance.now();
    const status: AgentStatus = { phase: "pending", build_id: randomId("build") };
    const row: TemplateRow = {
      template_id: templateId,
      owner,
      name: config.metadata.name,
      version: config.metadata.version,
      template_version: existing?.template_version ?? 0,
      description: config.metadata.description ?? null,
      author: config.metadata.author,
      tags: config.metadata.tags ?? [],
      config: { ...config, status },
      phase: "pending",
      build_id: status.build_id!,
      error: null,
      size: existing?.size ?? null,
      build_time: null,
      created_at: existing?.created_at ?? now(),
      updated_at: now(),
    };
    const record = async (patch: Partial<TemplateRow>, st: AgentStatus) => {
      Object.assign(row, patch, { phase: st.phase, config: { ...config, status: st }, updated_at: now() });
      await store.saveTemplate(row);
    };
    await record({}, status);
    const building: AgentStatus = { ...status, phase: "building" };
    await record({}, building);
    let final: AgentStatus;
    try {
      if (!files) throw unreadable;
      const runtime = config.spec.runtime ?? {};
      mkdirSync(opts.dependencies.workDir, { recursive: true });
      const dependencies = await buildDependencies(files, { ...opts.dependencies, isolation: opts.isolation() });
      const agentConfig = { ...config, status: { ...building, phase: "deployed" as const, template_id: templateId, last_deployed: now() } };
      const built = await backend().createTemplate(owner, {
        name: templateId,
        description: config.metadata.description,
        tags: config.metadata.tags ?? [],
        files,
        command: entrypointCommand(config),
        env: { BUNKER_AGENT_HOST: "0.0.0.0", BUNKER_AGENT_PORT: String(AGENT_PORT), PYTHONUNBUFFERED: "1" },
        resources: {
          memoryMb: runtime.memory_limit ? parseMemoryMiB(runtime.memory_limit) : undefined,
          cpus: runtime.cpu_limit ? parseCpuCores(runtime.cpu_limit) : undefined,
        },
        readiness: { path: "/ping", port: AGENT_PORT, timeoutSeconds: runtime.timeout ?? 60 },
        metadata: { agent: agentConfig },
        dependencies: dependencies?.archive,
      });
      if (dependencies) log.info("agent dependencies installed", { template_id: templateId, packages: dependencies.packages, bytes: dependencies.archive.byteLength });
      final = agentConfig.status;
      await record({ template_version: built.version, size: built.size ?? null, build_time: (performance.now() - started) / 1000, error: null }, final);
    } catch (error) {
      final = { ...building, phase: "failed", last_deployed: now() };
      const message = error instanceof Error ? error.message : String(error);
      await record({ error: message }, final);
      log.warn("agent deploy failed", { template_id: templateId, error: message });
      if (error instanceof BunkerError) throw error;
      throw errors.DEPLOY_FAILED(`Deploying ${templateId} failed: ${message}`, { status: final });
    }
    // The seed's CLI keeps status in agent.yaml: a path deploy writes it there; an upload's CLI writes its own copy.
    if (!how.uploaded) recordInProject(source, loaded, final);
    return { status: final, agent: row.config, template: templateView(row) };
  }

  async function listTemplates(owner: string, filter: { tags?: string; name?: string }): Promise<AgentTemplate[]> {
    const tags = filter.tags?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
    const name = filter.name?.toLowerCase();
    return (await store.listTemplates(owner))
      .filter((t) => tags.every((tag) => t.tags.includes(tag)))
      .filter((t) => !name || t.name.toLowerCase().includes(name) || t.template_id.toLowerCase().includes(name))
      .map(templateView);
  }

  async function createSession(owner: string, input: { template_id: string; timeout_seconds?: number; env_vars?: Record<string, string> }): Promise<Session> {
    const tpl = await ownTemplate(owner, input.template_id);
    if (tpl.phase !== "deployed") throw errors.TEMPLATE_NOT_DEPLOYED(`Template ${tpl.template_id} is ${tpl.phase}, not deployed`);
    const ttl = input.timeout_seconds ?? opts.defaultSessionTimeoutSeconds;
    let id: string;
    try {
      ({ id } = await backend().createSandbox(owner, tpl.template_id, { ttlSeconds: ttl, env: input.env_vars ?? {} }));
    } catch (error) {
      if (error instanceof BunkerError && error.status < 500) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw errors.SANDBOX_CREATION_FAILED(`Could not start a session of ${tpl.template_id}: ${message}`);
    }
    const row: SessionRow = {
      session_id: id,
      owner,
      template_id: tpl.template_id,
      status: "active",
      timeout_seconds: ttl,
      created_at: now(),
      last_activity: now(),
      expires_at: plusSeconds(ttl),
      error: null,
    };
    await store.insertSession(row);
    return sessionView(row);
  }

  async function getSession(owner: string, id: string): Promise<Session> {
    return sessionView(await ownSession(owner, id));
  }

  async function listSessions(owner: string): Promise<Session[]> {
    return (await store.listSessions(owner)).map(sessionView);
  }

  async function closeSession(owner: string, id: string): Promise<Session> {
    const row = await ownSession(owner, id);
    await backend().delete(owner, id).catch((e) => log.warn("sandbox delete failed", { session_id: id, error: String(e) }));
    await store.updateSession(id, { status: "closed" });
    return sessionView({ ...row, status: "closed" });
  }

  async function closeAllSessions(owner: string): Promise<number> {
    const open = await store.listSessions(owner);
    await Promise.all(open.map((s) => closeSession(owner, s.session_id)));
    return open.length;
  }

  async function setPaused(owner: string, id: string, paused: boolean): Promise<Session> {
    const row = await ownSession(owner, id);
    const want = paused ? "paused" : "active";
    if (row.status === want) return sessionView(row);
    try {
      if (paused) await backend().pause(owner, id);
      else await backend().resume(owner, id);
    } catch (error) {
      if (error instanceof BunkerError && (error.status < 500 || error.status === 501)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw errors.SANDBOX_OPERATION_FAILED(`Could not ${paused ? "pause" : "resume"} session ${id}: ${message}`);
    }
    await store.updateSession(id, { status: want, last_activity: now() });
    return sessionView({ ...row, status: want, last_activity: now() });
  }

  async function refresh(owner: string, id: string, timeoutSeconds?: number): Promise<Session> {
    const row = await ownSession(owner, id);
    const ttl = timeoutSeconds ?? row.timeout_seconds;
    await backend().extendTtl(owner, id, ttl);
    const patch = { expires_at: plusSeconds(ttl), last_activity: now(), timeout_seconds: ttl };
    await store.updateSession(id, patch);
    return sessionView({ ...row, ...patch });
  }

  /** Proxies a request to the session's agent; the body streams both ways and the caller's abort reaches the agent. */
  async function forward(owner: string, id: string, path: "/invocations" | "/ping", request: Request): Promise<Response> {
    const row = await ownSession(owner, id);
    if (row.status === "paused") throw errors.SESSION_PAUSED(`Session ${id} is paused: resume it first`, { session_id: id });
    await store.updateSession(id, { last_activity: now() });
    const headers = new Headers();
    request.headers.forEach((value, key) => {
      if (FORWARDED.test(key)) headers.set(key, value);
    });
    headers.set(SESSION_HEADER, id);
    headers.set(BUNKER_SESSION_HEADER, id);
    if (!headers.has(REQUEST_ID_HEADER)) headers.set(REQUEST_ID_HEADER, crypto.randomUUID());
    // The answer is never buffered. The request body streams on too (with the caller's Content-Length when it sent
    // one, which minimal agents such as Python's http.server read by; chunked otherwise), except a small body of
    // known length: that one is sent in one piece, since a streamed upload costs each small invocation ~10 ms.
    const length = Number(request.headers.get("content-length") ?? NaN);
    let body: ReadableStream<Uint8Array> | ArrayBuffer | undefined = path === "/ping" ? undefined : boundedBody(request, MAX_INVOCATION_BYTES);
    if (body && length <= SMALL_BODY_BYTES) body = await new Response(body).arrayBuffer();
    else if (body && Number.isFinite(length)) headers.set("content-length", String(length));
    // @ts-expect-error Bun streams request bodies; duplex is the fetch-spec flag for it
    const upstream = new Request(`http://agent${path}`, { method: path === "/ping" ? "GET" : "POST", headers, body, signal: request.signal, duplex: "half" });
    let response: Response;
    try {
      response = await backend().fetch(owner, id, AGENT_PORT, upstream);
    } catch (error) {
      if (error instanceof BunkerError) throw error;
      throw errors.AGENT_UNREACHABLE(`The agent in session ${id} did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    const out = new Headers();
    for (const name of RETURNED) {
      const value = response.headers.get(name);
      if (value) out.set(name, value);
    }
    // A long stream is activity: the reaper leaves the session alone until the answer ends.
    inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    const done = async () => {
      const left = (inFlight.get(id) ?? 1) - 1;
      if (left > 0) inFlight.set(id, left);
      else inFlight.delete(id);
      await store.updateSession(id, { last_activity: now() }).catch(() => undefined);
    };
    return new Response(passThrough(response.body, done), { status: response.status, headers: out });
  }

  /** One-shot: a fresh session, one invocation, the session closed once the answer (or stream) ends. */
  async function invokeTemplate(owner: string, templateId: string, request: Request): Promise<Response> {
    const session = await createSession(owner, { template_id: templateId });
    const close = () => closeSession(owner, session.session_id).catch((e) => log.warn("one-shot close failed", { error: String(e) }));
    let response: Response;
    try {
      response = await forward(owner, session.session_id, "/invocations", request);
    } catch (error) {
      await close();
      throw error;
    }
    return new Response(passThrough(response.body, close), { status: response.status, headers: response.headers });
  }

  /** Closes sessions idle longer than the idle timeout or past their TTL; marks vanished sandboxes. */
  async function reap(): Promise<number> {
    const idleBefore = new Date(Date.now() - opts.idleTimeoutSeconds * 1000).toISOString();
    const stale = await store.staleSessions(idleBefore, now());
    for (const s of stale) {
      if (inFlight.has(s.session_id) && s.expires_at > now()) continue;
      log.info("closing idle agent session", { session_id: s.session_id, last_activity: s.last_activity });
      await closeSession(s.owner, s.session_id).catch((e) => log.warn("idle close failed", { error: String(e) }));
    }
    const b = opts.backend();
    if (b) {
      for (const s of await store.openSessions()) {
        if (s.status !== "active" && s.status !== "paused") continue;
        const state = await b.state(s.owner, s.session_id).catch(() => "gone" as const);
        if (state === "gone" || state === "exited") {
          await store.updateSession(s.session_id, { status: "error", error: `sandbox ${state}` });
        }
      }
    }
    return stale.length;
  }

  return {
    deploy: deployPath,
    deployArchive,
    listTemplates,
    getTemplate: async (owner: string, id: string) => templateView(await ownTemplate(owner, id)),
    templateExists: async (owner: string, id: string) => (await store.getTemplate(id))?.owner === owner,
    createSession,
    getSession,
    listSessions,
    closeSession,
    closeAllSessions,
    pause: (owner: string, id: string) => setPaused(owner, id, true),
    resume: (owner: string, id: string) => setPaused(owner, id, false),
    refresh,
    invoke: (owner: string, id: string, request: Request) => forward(owner, id, "/invocations", request),
    ping: (owner: string, id: string, request: Request) => forward(owner, id, "/ping", request),
    invokeTemplate,
    reap,
  };
}
