// The agent host on liteboxd, through its public services only: an agent template is a liteboxd template (the
// project's files, the agent's command, resources, an HTTP readiness probe on /ping, the AgentConfig as metadata), a
// session is a liteboxd sandbox, and the agent's port is reached through liteboxd's port gateway
// (`sandboxes.portTarget`: a host loopback port tunnelled into the sandbox's own network namespace). Nothing here
// touches liteboxd's files on disk: a sandbox controls its /workspace, so any path in there is untrusted.
import { BunkerError } from "bunker/core";
import { agentPackage } from "../agent-bundle";
import { errors } from "../errors";
import type { SandboxService, TemplateService, TemplateSpec } from "../../liteboxd/contract";
import { withDependencies } from "../dependencies";
import type { ProjectFile } from "../project-files";
import { AGENT_PORT, type AgentSandboxBackend, type AgentTemplateSpec, type BackendSandboxState } from "./backend";

export interface LiteboxdBackendOptions {
  sandboxes: SandboxService;
  templates: TemplateService;
  available(): { available: boolean; reason?: string };
  /** Send files that are not UTF-8 text base64-encoded (otherwise such a project is refused with a 400). */
  binaryFiles: boolean;
}

type TemplateFile = NonNullable<TemplateSpec["files"]>[number];

/** How often liteboxd's readiness probe asks /ping while the agent starts (its period floor is 50 ms). */
const PROBE_PERIOD_MS = 50;
/** Relative to /workspace, inside .bunker (which project files never overwrite: skipped.ts SKIPPED). */
const DEPENDENCY_ARCHIVE = ".bunker/dependencies.tgz";

/** The project's files as liteboxd template files: UTF-8 text as is, anything else base64 when allowed. */
function templateFiles(files: ProjectFile[], binaryFiles: boolean): TemplateFile[] {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return files.map((file) => {
    const destination = `/workspace/${file.path}`;
    try {
      return { destination, content: decoder.decode(file.bytes) };
    } catch {
      if (!binaryFiles) {
        throw errors.BINARY_FILE_UNSUPPORTED(`${file.path} is not UTF-8 text, and this server does not take binary files in agent projects (agent-runtime config binaryFiles)`);
      }
      return { destination, content: Buffer.from(file.bytes).toString("base64"), encoding: "base64" as const };
    }
  });
}

/** liteboxd's refusals of a sandbox that cannot take a request now, as the session's (other errors pass as they are). */
function sessionError(id: string, error: unknown): unknown {
  if (!(error instanceof BunkerError)) return error;
  if (error.code === "SANDBOX_PAUSED") return errors.SESSION_PAUSED(`Session ${id} is paused: resume it first`, { session_id: id });
  if (error.code === "SANDBOX_NOT_RUNNING") return errors.SESSION_NOT_RUNNING(`the sandbox of session ${id} is not running (${error.message})`, { session_id: id });
  return error;
}

export function createLiteboxdBackend(o: LiteboxdBackendOptions): AgentSandboxBackend {
  return {
    status: o.available,

    async createTemplate(owner, spec: AgentTemplateSpec) {
      const files = templateFiles(spec.files, o.binaryFiles);
      const size = spec.files.reduce((n, f) => n + f.bytes.byteLength, 0);
      // `bunker/agent` in /workspace/node_modules/bunker, bundled once per server: templates reference no host path.
      files.push(...(await agentPackage()));
      let command = spec.command;
      if (spec.dependencies) {
        files.push({ destination: `/workspace/${DEPENDENCY_ARCHIVE}`, content: Buffer.from(spec.dependencies).toString("base64"), encoding: "base64" });
        command = withDependencies(command, DEPENDENCY_ARCHIVE);
      }
      const { path, port, timeoutSeconds } = spec.readiness;
      // liteboxd places the files before it starts the command (in /workspace), then probes until the startup
      // timeout: the sandbox is "running" once the agent answers /ping.
      const templateSpec: TemplateSpec = {
        image: "host",
        command,
        resources: {
          cpu: spec.resources.cpus ? `${Math.round(spec.resources.cpus * 1000)}m` : "1000m",
          memory: `${spec.resources.memoryMb ?? 512}Mi`,
        },
        ttl: 0, // the host enforces session TTLs (refresh extends them)
        env: { HOME: "/tmp", BUN_INSTALL_CACHE_DIR: "/tmp/.bun-cache", ...spec.env },
        startupTimeout: timeoutSeconds,
        readinessProbe: {
          httpGet: { path, port },
          periodSeconds: 0,
          failureThreshold: Math.ceil((timeoutSeconds * 1000) / PROBE_PERIOD_MS) + 1,
        },
        files,
        metadata: spec.metadata,
      };
      const fields = { description: spec.description ?? `agent ${spec.metadata.agent.metadata.name}`, tags: ["agent", ...spec.tags] };
      // Owned by the deployer: private to them in liteboxd too (another user's template of that name is not theirs to
      // update, and creating it answers TEMPLATE_EXISTS).
      const wire = (await o.templates.exists(spec.name, owner))
        ? await o.templates.update(spec.name, { ...fields, spec: templateSpec, changelog: `agent ${spec.metadata.agent.metadata.version}` }, owner)
        : await o.templates.create({ name: spec.name, ...fields, spec: templateSpec }, owner);
      return { templateId: wire.name, version: wire.latestVersion, size: size + (spec.dependencies?.byteLength ?? 0) };
    },

    async deleteTemplate(owner, templateId) {
      await o.templates.remove(templateId, owner);
    },

    async createSandbox(owner, templateId, options) {
      const template = await o.templates.get(templateId, owner);
      const timeoutMs = ((template.spec?.startupTimeout ?? 60) + 5) * 1000;
      const sandbox = await o.sandboxes.create({ template: templateId, overrides: { ttl: 0, env: options.env } }, owner);
      try {
        await o.sandboxes.waitForReady(sandbox.id, owner, timeoutMs);
      } catch (error) {
        const { logs } = await o.sandboxes.logs(sandbox.id, owner, 20).catch(() => ({ logs: "" }));
        await o.sandboxes.remove(sandbox.id, owner).catch(() => undefined);
        throw new Error(`${(error as Error).message}${logs ? `; agent output: ${logs.trim().slice(-500)}` : ""}`);
      }
      return { id: sandbox.id };
    },

    async state(owner, id): Promise<BackendSandboxState> {
      const sandbox = await o.sandboxes.get(id, owner).catch(() => undefined);
      if (!sandbox || sandbox.status === "terminating") return "gone";
      if (sandbox.status === "running") return "running";
      if (sandbox.status === "paused") return "paused";
      if (sandbox.status === "pending") return "starting";
      return "exited";
    },

    async fetch(owner, id, port, request) {
      if (port !== AGENT_PORT) throw errors.PORT_UNSUPPORTED(`only the agent port ${AGENT_PORT} is reachable`);
      // portTarget checks the owner and that the sandbox runs.
      const target = await o.sandboxes.portTarget(id, port, owner).catch((error: unknown) => {
        throw sessionError(id, error);
      });
      const url = new URL(request.url);
      return fetch(`http://${target.host}:${target.port}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        redirect: "manual",
        // @ts-expect-error Bun streams request bodies; duplex is the fetch-spec flag for it
        duplex: "half",
      });
    },

    async pause(owner, id) {
      await o.sandboxes.pause(id, owner);
    },
    async resume(owner, id) {
      await o.sandboxes.resume(id, owner);
    },
    async extendTtl() {
      // Sandboxes are created without a liteboxd TTL; the host's reaper enforces the session's expiry.
    },
    async delete(owner, id) {
      await o.sandboxes.remove(id, owner);
    },
  };
}
