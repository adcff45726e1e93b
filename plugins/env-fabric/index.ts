// env-fabric: Python environments per workflow node (uv projects), with locked, audited changes and isolated runs.
import { definePlugin, t } from "bunker/core";
import { mkdirSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { migrateLegacyLayout } from "./drivers/envfs";
import { pipConfiguredIndex, resolveIndexUrl, type UvSettings } from "./drivers/uv";
import { envRoutes } from "./routes";
import { EnvService } from "./service";
import { AuditStore, migrations } from "./store";

export { EnvService } from "./service";

const env = process.env;

export default definePlugin({
  name: "env-fabric",
  version: "1.0.0",
  description: "Python environments per workflow node, driven by the uv CLI (Environment Fabric API)",
  prefix: "",
  config: t.Object({
    /** ENVS_BASE_PATH; default <dataDir>/plugins/env-fabric/envs. */
    envsBasePath: t.Optional(t.String()),
    /** UV_CACHE_DIR; default beside the envs ("uv_cache"), on the same filesystem so uv can hardlink. */
    cacheDir: t.Optional(t.String()),
    uvBinary: t.String({ default: "uv" }),
    /** Package index URL; default UV_DEFAULT_INDEX, then the index pip is configured with, then uv's own default. */
    indexUrl: t.Optional(t.String()),
    /** Extra --find-links directories or URLs. */
    findLinks: t.Array(t.String(), { default: [] }),
    /** Resolve from findLinks only. */
    noIndex: t.Boolean({ default: false }),
    /** Let uv download Python builds (UV_PYTHON_DOWNLOADS); off: only interpreters on the machine. */
    pythonDownloads: t.Boolean({ default: false }),
    defaultPython: t.String({ default: env.DEFAULT_PYTHON ?? "3.11" }),
    defaultVersion: t.String({ default: "v1" }),
    /** Allow URL and local-path requirements (`name @ https://…`, `./pkg`). */
    allowDirectReferences: t.Boolean({ default: false }),
    /** Allow uv/pip options among packages (`-e`, `--index-url`, …). */
    allowPackageOptions: t.Boolean({ default: false }),
    /** EXECUTION_TIMEOUT: default run timeout in seconds. */
    executionTimeout: t.Number({ exclusiveMinimum: 0, default: Number(env.EXECUTION_TIMEOUT ?? 30) }),
    uvTimeoutSeconds: t.Number({ exclusiveMinimum: 0, default: 900 }),
    runNetwork: t.Boolean({ default: false }),
    runMemoryMb: t.Optional(t.Integer({ minimum: 16 })),
    maxOutputBytes: t.Integer({ minimum: 1024, default: 1024 * 1024 }),
    /** CLEANUP_IDLE_HOURS: envs unused this long are removed by the background task. */
    cleanupIdleHours: t.Number({ minimum: 0, default: Number(env.CLEANUP_IDLE_HOURS ?? 72) }),
    /** How often the idle cleanup runs; 0 turns it off. */
    cleanupIntervalMinutes: t.Number({ minimum: 0, default: 60 }),
  }),
  migrations,
  // python3: uv makes envs from the machine's interpreters (no Python downloads); procps: pgrep in the tests.
  system: { programs: { python3: "python3" }, testApt: ["procps"], pip: ["uv"] },
  setup(ctx) {
    const c = ctx.config;
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(p));
    const basePath = abs(c.envsBasePath ?? env.ENVS_BASE_PATH ?? join(ctx.dataDir, "envs"));
    const cacheDir = abs(c.cacheDir ?? env.UV_CACHE_DIR ?? join(dirname(basePath), "uv_cache"));
    mkdirSync(basePath, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    // Envs made before envs had owners move under the open-mode user's folder (see README "Owners").
    const { moved, skipped } = migrateLegacyLayout(basePath);
    if (moved.length) ctx.log.info("moved envs of the layout without owners to the local user's folder", { workflows: moved });
    if (skipped.length) {
      ctx.log.warn("left workflows of the layout without owners where they are: the local user's folder has workflows of the same names", {
        workflows: skipped, base: basePath,
      });
    }
    if (statSync(basePath).dev !== statSync(cacheDir).dev) {
      ctx.healthWarning(
        "cache",
        `UV_CACHE_DIR (${cacheDir}) and ENVS_BASE_PATH (${basePath}) are on different filesystems: uv cannot hardlink and copies every package`,
      );
    }

    let settings: Promise<UvSettings> | undefined;
    const uv = () =>
      (settings ??= (async () => ({
        binary: c.uvBinary,
        cacheDir,
        indexUrl: c.noIndex ? undefined : await resolveIndexUrl(c.indexUrl, env, pipConfiguredIndex),
        findLinks: c.findLinks,
        noIndex: c.noIndex,
        pythonDownloads: c.pythonDownloads,
        timeoutMs: c.uvTimeoutSeconds * 1000,
      }))());

    // Resolved at use time: the plugin that provides isolation may load after this one.
    const isolation = () => {
      const service = ctx.services.get("isolation");
      const status = service?.status();
      if (service && status?.available) {
        ctx.healthWarning("isolation", null);
        return service;
      }
      ctx.healthWarning(
        "isolation",
        `runs are not isolated (${service ? status?.reason : "no isolation service loaded"}): code runs as a plain process with network access and write access to its env`,
      );
      return undefined;
    };

    const audit = new AuditStore(ctx.db);
    const service = new EnvService({
      basePath,
      scratchRoot: join(ctx.dataDir, "scratch"),
      defaultPython: c.defaultPython,
      policy: { allowDirectReferences: c.allowDirectReferences, allowOptions: c.allowPackageOptions },
      executionTimeoutSeconds: c.executionTimeout,
      runNetwork: c.runNetwork,
      runMemoryMb: c.runMemoryMb,
      maxOutputBytes: c.maxOutputBytes,
      cleanupIdleHours: c.cleanupIdleHours,
      uv,
      isolation,
      audit,
      log: ctx.log,
    });

    ctx.onStart(async () => {
      await ctx.db.ping();
      const works = await Promise.resolve()
        .then(() => Bun.spawn([c.uvBinary, "--version"], { stdout: "ignore", stderr: "ignore" }).exited)
        .then((code) => code === 0, () => false);
      ctx.healthWarning("uv", works ? null : `uv (${c.uvBinary}) does not run: install it with \`pip install uv\``);
    });
    if (c.cleanupIntervalMinutes > 0) {
      ctx.background("idle-cleanup", async () => {
        const result = await service.cleanup({}, { actor: "system:cleanup" });
        if (result.removed.length) ctx.log.info("removed idle envs", { removed: result.removed, idle_hours: result.idle_hours });
      }, { intervalMs: c.cleanupIntervalMinutes * 60_000, runAtStart: true });
    }

    return envRoutes({ service, audit, defaultVersion: c.defaultVersion });
  },
});
