// agent-runtime: hosts agents (AgentCore contract) in liteboxd sandboxes, one sandbox per session.
// The app agent authors import is agent.ts ("bunker/agent"); the typed client is client.ts; other plugins use the
// service described in contract.ts; `bunker agent …` is cli/.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { definePlugin, t } from "bunker/core";
import type { AgentSandboxBackend } from "./drivers/backend";
import { createLiteboxdBackend } from "./drivers/liteboxd";
import { agentRoutes } from "./routes";
import { createAgentHost } from "./service";
import { createStore, migrations } from "./store";
import { AGENT_USAGE } from "./cli/usage";
import "./contract"; // declares the "agent-runtime.host" service

export type { AgentHost } from "./contract";

const MB = 1024 * 1024;

/** The server's npm registry settings, for `bun install` of agent dependencies (never a host written into the repo). */
function registrySettings(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value && /^(npm_config_(registry|_auth.*|@.*:registry)|NPM_CONFIG_REGISTRY|BUN_CONFIG_REGISTRY|NPM_CONFIG_TOKEN|https?_proxy|HTTPS?_PROXY|NO_PROXY|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE)$/.test(key)) out[key] = value;
  }
  return out;
}

export default definePlugin({
  name: "agent-runtime",
  version: "0.1.0",
  description: "Agent host: deploy agent projects, one sandbox per session, JSON and SSE invocations",
  dependsOn: ["liteboxd"],
  prefix: "/agent-runtime",
  config: t.Object({
    /** Default session time to live, seconds (refresh extends it). */
    sessionTimeoutSeconds: t.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
    /** Sessions without an invocation for this long are closed. */
    idleTimeoutSeconds: t.Integer({ minimum: 1, default: 600 }),
    /** Sessions without an invocation for this long report status "inactive" until the next one (closed at idleTimeoutSeconds). */
    inactiveAfterSeconds: t.Integer({ minimum: 1, default: 60 }),
    /** How often idle sessions are looked for. */
    reapIntervalSeconds: t.Integer({ minimum: 1, default: 30 }),
    /** Largest uploaded agent project archive, as sent (gzipped). */
    maxArchiveMb: t.Integer({ minimum: 1, default: 100 }),
    /** Largest uploaded archive once unpacked (the sum of its entries' sizes), checked while it streams. */
    maxArchiveExpandedMb: t.Integer({ minimum: 1, default: 256 }),
    /** Most entries (files, directories, links) in an uploaded archive, checked while it streams. */
    maxArchiveEntries: t.Integer({ minimum: 1, default: 10_000 }),
    /** Largest agent project (its files but node_modules, .git, .venv, __pycache__, .bunker), sent with its template. */
    maxProjectMb: t.Integer({ minimum: 1, default: 8 }),
    /** Most files in an agent project (same folders left out). */
    maxProjectFiles: t.Integer({ minimum: 1, default: 5_000 }),
    /** Directories agent projects may be deployed from by path; `{user}` stands for the caller's user id (one root
     * per tenant). Empty: path deploys only in open mode (no API keys); with keys, projects are uploaded. */
    deployRoots: t.Array(t.String({ pattern: "^/" }), { default: [] }),
    /** Take agent project files that are not UTF-8 text (sent to liteboxd base64-encoded); off: such a deploy is a 400. */
    binaryFiles: t.Boolean({ default: true }),
    /** Largest packed node_modules of an agent project (its package.json dependencies, installed at deploy). */
    maxDependenciesMb: t.Integer({ minimum: 1, default: 64 }),
    /** How long `bun install` of an agent project's dependencies may take. */
    dependencyInstallTimeoutSeconds: t.Integer({ minimum: 1, default: 300 }),
  }),
  migrations,
  system: { programs: { python3: "python3", tar: "tar", gzip: "gzip" } },
  commands: {
    agent: {
      summary: "work with an agent project: configure, deploy, invoke, dev",
      usage: AGENT_USAGE,
      // Loaded on use: the server never needs the command line's modules.
      run: async (args) => (await import("./cli/agent")).runAgentCommand(args),
    },
  },
  async setup(ctx) {
    const store = createStore(ctx.db);
    // Staging directories of uploads are removed after each deploy; a crash may have left some behind.
    const uploadsDir = join(ctx.dataDir, "projects");
    rmSync(uploadsDir, { recursive: true, force: true });
    let backend: AgentSandboxBackend | undefined;
    // Resolved at use time: liteboxd's services may appear after this setup runs.
    const resolveBackend = (): AgentSandboxBackend | undefined => {
      if (backend) return backend;
      const sandboxes = ctx.services.get("liteboxd.sandboxes");
      if (!sandboxes) return undefined;
      backend = createLiteboxdBackend({
        sandboxes,
        templates: ctx.services.require("liteboxd.templates"),
        binaryFiles: ctx.config.binaryFiles,
        available: () => ctx.services.get("isolation")?.status() ?? { available: false, reason: "no isolation service" },
      });
      return backend;
    };
    const host = createAgentHost({
      store,
      backend: resolveBackend,
      log: ctx.log,
      routesUrl: () => `${ctx.baseUrl}${ctx.prefix}`,
      defaultSessionTimeoutSeconds: ctx.config.sessionTimeoutSeconds,
      idleTimeoutSeconds: ctx.config.idleTimeoutSeconds,
      inactiveAfterSeconds: ctx.config.inactiveAfterSeconds,
      archives: {
        uploadsDir,
        maxBytes: ctx.config.maxArchiveMb * MB,
        maxExpandedBytes: ctx.config.maxArchiveExpandedMb * MB,
        maxEntries: ctx.config.maxArchiveEntries,
      },
      project: { maxBytes: ctx.config.maxProjectMb * MB, maxFiles: ctx.config.maxProjectFiles },
      deployRoots: ctx.config.deployRoots,
      dependencies: {
        workDir: join(ctx.dataDir, "builds"),
        maxBytes: ctx.config.maxDependenciesMb * 1024 * 1024,
        timeoutMs: ctx.config.dependencyInstallTimeoutSeconds * 1000,
        env: registrySettings(process.env),
      },
      isolation: () => {
        const isolation = ctx.services.get("isolation");
        return isolation?.status().available ? isolation : undefined;
      },
    });
    ctx.services.provide("agent-runtime.host", host);
    ctx.onStart(() => {
      if (!resolveBackend()) ctx.healthWarning("sandboxes", "liteboxd.sandboxes is missing: agent deploys and sessions answer 503");
    });
    ctx.background("reap-idle-sessions", async () => void (await host.reap()), { intervalMs: ctx.config.reapIntervalSeconds * 1000 });
    return agentRoutes(host);
  },
});
