// liteboxd: a LiteBoxd-compatible sandbox API (/api/v1) on an embedded bubblewrap driver, the `isolation` service
// every plugin runs untrusted code through, and the typed `liteboxd.sandboxes` service.
import { join, resolve } from "node:path";
import { definePlugin, Elysia, t } from "bunker/core";
import { createLocalDriver } from "./drivers/local";
import { gatewayRoutes } from "./gateway";
import { streamRoutes } from "./streams";
import { createBwrapIsolation } from "./isolation";
import { renderLiteboxdError, type LiteboxdErrorShape } from "./errors";
import { createResourceCeiling } from "./resource-ceiling";
import { sandboxRoutes, templateRoutes } from "./routes";
import { createSandboxService } from "./sandboxes";
import { createStore, migrations } from "./store";
import { createTemplateService } from "./templates";

export default definePlugin({
  name: "liteboxd",
  version: "0.1.0",
  description: "LiteBoxd-compatible sandboxes on bubblewrap, and the isolation service for other plugins",
  prefix: "/api/v1",
  config: t.Object({
    /** Extra host paths hidden from every sandbox (the Bunker data directory is always hidden). */
    maskPaths: t.Array(t.String(), { default: [] }),
    /** Host uid/gid sandboxes run as. */
    sandboxUid: t.Integer({ minimum: 1, default: 65534 }),
    sandboxGid: t.Integer({ minimum: 1, default: 65534 }),
    /** Process-count limit of every sandbox (LiteBoxd specs have none). */
    pidsLimit: t.Integer({ minimum: 8, default: 512 }),
    /** stdout and stderr of an exec are each cut at this size (the response says `truncated`). */
    maxExecOutputBytes: t.Integer({ minimum: 1024, default: 1024 * 1024 }),
    /** Sandboxes kept started ahead of demand (image "host", network off): creation then takes milliseconds. */
    warmPool: t.Integer({ minimum: 0, maximum: 64, default: 2 }),
    /** How often the cleaner deletes expired sandboxes and retries failed deletions. */
    cleanupIntervalMs: t.Integer({ minimum: 50, default: 10_000 }),
    /** The most cpu one sandbox may ask for, a Kubernetes quantity ("2", "1500m"); default and ceiling: the host's cores. */
    maxSandboxCpu: t.Optional(t.String()),
    /** The most memory one sandbox may ask for ("8Gi"); default and ceiling: the host's memory. */
    maxSandboxMemory: t.Optional(t.String()),
    /** A YAML import request larger than this is refused (413) before it is read. */
    maxImportBytes: t.Integer({ minimum: 1024, default: 1024 * 1024 }),
    /** The total content of a template's `files` (decoded). Agent templates carry their project and dependency archive
     * here: the default covers agent-runtime's defaults (8 MiB project, 64 MiB dependencies). */
    maxTemplateFilesBytes: t.Integer({ minimum: 1024, default: 96 * 1024 * 1024 }),
    /** A YAML export of many templates (GET /templates/export) larger than this is refused (413); one template's
     * export (GET /templates/:name/export) has no such cap. */
    maxExportBytes: t.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
  }),
  migrations,
  system: {
    // python3 runs the in-sandbox supervisor; skopeo copies OCI images and umoci unpacks them.
    programs: { bwrap: "bubblewrap", setpriv: "util-linux", prlimit: "util-linux", slirp4netns: "slirp4netns", python3: "python3", skopeo: "skopeo", umoci: "umoci", mkfifo: "coreutils" },
    testApt: ["busybox-static", "python3-yaml"],
  },
  setup(ctx) {
    const bunkerDataDir = resolve(ctx.dataDir, "..", "..");
    const isolation = createBwrapIsolation({
      uid: ctx.config.sandboxUid,
      gid: ctx.config.sandboxGid,
      maskPaths: [bunkerDataDir, ...ctx.config.maskPaths],
    });
    ctx.services.provide("isolation", isolation);
    const status = isolation.status();
    if (!status.available) ctx.healthWarning("isolation", status.reason ?? "bwrap is not usable");

    const store = createStore(ctx.db);
    const driver = createLocalDriver({
      isolation,
      stateDir: join(ctx.dataDir, "sandboxes"),
      warmPool: ctx.config.warmPool,
      hiddenPaths: [bunkerDataDir, ...ctx.config.maskPaths],
      onError: (message, error) => ctx.log.warn(message, { error: (error as Error).message }),
    });
    const resources = createResourceCeiling({ maxSandboxCpu: ctx.config.maxSandboxCpu, maxSandboxMemory: ctx.config.maxSandboxMemory });
    const templates = createTemplateService(store, driver, {
      resources, maxFilesBytes: ctx.config.maxTemplateFilesBytes, maxExportBytes: ctx.config.maxExportBytes,
    });
    ctx.services.provide("liteboxd.templates", templates.service);
    const sandboxes = createSandboxService({
      store, driver, templates: templates.specs, log: ctx.log,
      apiBase: () => `${ctx.baseUrl}${ctx.prefix}`,
      pidsLimit: ctx.config.pidsLimit,
      maxExecOutputBytes: ctx.config.maxExecOutputBytes,
      resources,
    });
    ctx.services.provide("liteboxd.sandboxes", sandboxes.service);

    ctx.onStart(async () => {
      await templates.recoverPrepulls();
      const n = await sandboxes.maintenance.recoverAfterRestart();
      if (n) ctx.log.info("cleaning up sandboxes left from a previous run", { count: n });
      driver.warm?.();
    });
    ctx.onStop(async () => {
      await sandboxes.maintenance.stopAll();
      await driver.close?.();
    });
    ctx.background("ttl-cleaner", async () => {
      const n = await sandboxes.maintenance.sweep();
      if (n) ctx.log.info("expired sandboxes deleted", { count: n });
    }, { intervalMs: ctx.config.cleanupIntervalMs });

    // The gateway's auth is the sandbox's own X-Access-Token, not a Bunker API key.
    ctx.publicPaths("/sandbox/*/port/*", "/sandbox/*/port/*/**");
    // LiteBoxd's two error shapes, each on its own route family: flat for sandboxes and the gateway, nested for
    // templates, images and import/export. The core turns what was raised into a BunkerError; only the body differs.
    const inShape = (shape: LiteboxdErrorShape) => new Elysia().onError((hook) => renderLiteboxdError(ctx.toBunkerError(hook), shape));
    return new Elysia({ name: "liteboxd" })
      .use(inShape("flat").use(sandboxRoutes(sandboxes.service)).use(streamRoutes(sandboxes.service)).use(gatewayRoutes(sandboxes.service)))
      .use(inShape("nested").use(templateRoutes(templates.service, { maxImportBytes: ctx.config.maxImportBytes })));
  },
});
