// The agent host on liteboxd: an agent template is a liteboxd template (the project's files, a launcher, resources),
// a session is a liteboxd sandbox, and the agent's port is reached through a unix-socket relay on the sandbox's
// /workspace until liteboxd's gateway (DriverSandbox.portTarget) lands. Pause/resume wait for liteboxd too.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BunkerError } from "bunker/core";
import type { SandboxService } from "../../liteboxd/sandboxes";
import type { CreateTemplateRequest, TemplateWire, UpdateTemplateRequest } from "../../liteboxd/schema";
import { AGENT_PORT, type AgentSandboxBackend, type AgentTemplateSpec, type BackendSandboxState } from "./backend";

/** The part of liteboxd's template service the host uses. */
export interface LiteboxdTemplates {
  create(req: CreateTemplateRequest, author: string): Promise<TemplateWire>;
  update(name: string, req: UpdateTemplateRequest, author: string): Promise<TemplateWire>;
  get(name: string): Promise<TemplateWire>;
  remove(name: string): Promise<void>;
}

export interface LiteboxdBackendOptions {
  sandboxes: SandboxService;
  templates: LiteboxdTemplates;
  /** Host directory that is the sandbox's /workspace. */
  workspaceOf(id: string): string;
  available(): { available: boolean; reason?: string };
  maxProjectBytes?: number;
}

const RELAY = readFileSync(join(import.meta.dir, "relay.py"), "utf8");
const SKIPPED = new Set(["node_modules", ".git", ".venv", "__pycache__", ".bunker"]);
const SOCKET_IN_SANDBOX = "/workspace/.bunker/agent.sock";
// Waits for the files (liteboxd places them after start), starts the relay, then becomes the agent ("$@").
const LAUNCHER = [
  "while [ ! -f /workspace/.bunker/ready ]; do sleep 0.05; done",
  "cd /workspace",
  `python3 -u /workspace/.bunker/relay.py ${SOCKET_IN_SANDBOX} ${AGENT_PORT} &`,
  'exec "$@"',
].join("\n");

/** The project's files as liteboxd template files (text only: template files carry string content). */
function projectFiles(dir: string, maxBytes: number): { files: { destination: string; content: string }[]; size: number } {
  const files: { destination: string; content: string }[] = [];
  let size = 0;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const bytes = readFileSync(path);
        size += bytes.byteLength;
        if (size > maxBytes) throw new BunkerError(413, "PROJECT_TOO_LARGE", `The agent project is larger than ${maxBytes} bytes`);
        let content: string;
        try {
          content = decoder.decode(bytes);
        } catch {
          throw new BunkerError(400, "BINARY_FILE_UNSUPPORTED", `${relative(dir, path)} is not UTF-8 text; liteboxd template files carry text only`);
        }
        files.push({ destination: `/workspace/${relative(dir, path)}`, content });
      }
    }
  };
  walk(dir);
  return { files, size };
}

/** `bunker/agent` inside the sandbox resolves to this checkout (the host root is visible read-only). */
function bunkerShim(bunkerRoot: string) {
  return [
    { destination: "/workspace/node_modules/bunker/package.json", content: JSON.stringify({ name: "bunker", type: "module", exports: { "./agent": "./agent.ts" } }) },
    { destination: "/workspace/node_modules/bunker/agent.ts", content: `export * from ${JSON.stringify(join(bunkerRoot, "plugins/agent-runtime/agent.ts"))};\n` },
  ];
}

/** Unix socket paths are limited to 108 bytes: long ones get a short symlink. */
function connectablePath(path: string): string {
  if (path.length < 100) return path;
  const dir = join(tmpdir(), "bunker-agent-sockets");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const link = join(dir, createHash("sha256").update(path).digest("hex").slice(0, 16));
  if (!existsSync(link)) {
    try {
      unlinkSync(link);
    } catch {
      /* no stale link */
    }
    symlinkSync(path, link);
  }
  return link;
}

export function createLiteboxdBackend(o: LiteboxdBackendOptions): AgentSandboxBackend {
  const maxBytes = o.maxProjectBytes ?? 8 * 1024 * 1024;
  const socketOf = (id: string) => connectablePath(join(o.workspaceOf(id), ".bunker", "agent.sock"));

  const agentFetch = (id: string, path: string, init: RequestInit = {}) =>
    fetch(`http://agent${path}`, { ...init, unix: socketOf(id) } as RequestInit);

  async function waitForPing(id: string, owner: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      const sandbox = await o.sandboxes.get(id, owner);
      if (sandbox.status !== "running" && sandbox.status !== "pending") throw new Error(`sandbox ${id} is ${sandbox.status}: ${sandbox.status_reason ?? ""}`);
      try {
        const res = await agentFetch(id, "/ping", { signal: AbortSignal.timeout(2000) });
        if (res.ok) return void (await res.arrayBuffer());
        last = `/ping answered ${res.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await Bun.sleep(25);
    }
    throw new Error(`the agent did not answer /ping within ${timeoutMs / 1000}s (${last})`);
  }

  return {
    status: o.available,

    async createTemplate(owner, spec: AgentTemplateSpec) {
      const { files, size } = projectFiles(spec.sourceDir, maxBytes);
      const bunkerRoot = spec.env.BUNKER_ROOT ?? join(import.meta.dir, "..", "..", "..");
      files.push(...bunkerShim(bunkerRoot), { destination: "/workspace/.bunker/relay.py", content: RELAY });
      files.push({ destination: "/workspace/.bunker/ready", content: new Date().toISOString() });
      const { BUNKER_ROOT: _, ...env } = spec.env;
      const templateSpec = {
        image: "host",
        command: ["/bin/sh", "-c", LAUNCHER, "agent-launcher", ...spec.command],
        resources: {
          cpu: spec.resources.cpus ? `${Math.round(spec.resources.cpus * 1000)}m` : "1000m",
          memory: `${spec.resources.memoryMb ?? 512}Mi`,
        },
        ttl: 0, // the host enforces session TTLs (refresh extends them)
        env: { HOME: "/tmp", BUN_INSTALL_CACHE_DIR: "/tmp/.bun-cache", ...env },
        startupTimeout: spec.readiness.timeoutSeconds,
        files,
      };
      const fields = { description: spec.description ?? `agent ${spec.metadata.agent.metadata.name}`, tags: ["agent", ...spec.tags] };
      const exists = await o.templates.get(spec.name).then(() => true, () => false);
      const wire = exists
        ? await o.templates.update(spec.name, { ...fields, spec: templateSpec, changelog: `agent ${spec.metadata.agent.metadata.version}` }, owner)
        : await o.templates.create({ name: spec.name, ...fields, spec: templateSpec }, owner);
      return { templateId: wire.name, version: wire.latestVersion, size };
    },

    async deleteTemplate(_owner, templateId) {
      await o.templates.remove(templateId);
    },

    async createSandbox(owner, templateId, options) {
      const template = await o.templates.get(templateId);
      const timeoutMs = (template.spec?.startupTimeout ?? 60) * 1000;
      const sandbox = await o.sandboxes.create({ template: templateId, overrides: { ttl: 0, env: options.env } }, owner);
      try {
        await o.sandboxes.waitForReady(sandbox.id, owner, timeoutMs);
        await waitForPing(sandbox.id, owner, timeoutMs);
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
      if (sandbox.status === "pending") return "starting";
      return "exited";
    },

    async fetch(owner, id, port, request) {
      if (port !== AGENT_PORT) throw new BunkerError(400, "PORT_UNSUPPORTED", `only the agent port ${AGENT_PORT} is reachable`);
      const sandbox = await o.sandboxes.get(id, owner);
      if (sandbox.status !== "running") throw new BunkerError(409, "SESSION_NOT_RUNNING", `the sandbox of session ${id} is ${sandbox.status}`);
      const url = new URL(request.url);
      return agentFetch(id, url.pathname + url.search, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        // @ts-expect-error Bun streams request bodies; duplex is the fetch-spec flag for it
        duplex: "half",
      });
    },

    async pause() {
      throw new BunkerError(501, "PAUSE_UNSUPPORTED", "Pausing a session needs liteboxd's sandbox pause (freezing the sandbox's processes), which liteboxd does not provide yet");
    },
    async resume() {
      throw new BunkerError(501, "PAUSE_UNSUPPORTED", "Resuming a session needs liteboxd's sandbox resume, which liteboxd does not provide yet");
    },
    async extendTtl() {
      // Sandboxes are created without a liteboxd TTL; the host's reaper enforces the session's expiry.
    },
    async delete(owner, id) {
      await o.sandboxes.remove(id, owner);
    },
  };
}
