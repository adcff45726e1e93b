// The desktop plugin: virtual desktops over HTTP (the E2B Desktop operations), backed by local Xvfb or E2B.
import { definePlugin, Elysia, t, type IsolationService, type PluginContext } from "bunker/core";
import { E2BDriver, realE2BSdk, type E2BDesktopSdk } from "./drivers/e2b";
import { LocalDriver } from "./drivers/local";
import type { DesktopDriver } from "./drivers/types";
import { desktopRoutes } from "./routes";
import { DesktopService } from "./service";
import { DesktopStore, migrations } from "./store";
import { StreamRegistry } from "./streams";
import { viewerRoutes } from "./viewer";

export const DesktopConfig = t.Object({
  /** "auto": E2B when an API key is configured (here or in E2B_API_KEY), else the local Xvfb backend. */
  backend: t.Union([t.Literal("auto"), t.Literal("local"), t.Literal("e2b")], { default: "auto" }),
  e2bApiKey: t.Optional(t.String({ minLength: 1 })),
  e2bDomain: t.Optional(t.String({ minLength: 1 })),
  maxConcurrentSandboxes: t.Integer({ minimum: 1, default: 10 }),
  defaultTemplate: t.String({ minLength: 1, default: "desktop" }),
  defaultTimeoutSeconds: t.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  defaultCpuCount: t.Integer({ minimum: 1, maximum: 8, default: 2 }),
  defaultMemoryMb: t.Integer({ minimum: 512, maximum: 8192, default: 2048 }),
  defaultScreenWidth: t.Integer({ minimum: 320, maximum: 3840, default: 1280 }),
  defaultScreenHeight: t.Integer({ minimum: 240, maximum: 2160, default: 800 }),
  allowInternetAccess: t.Boolean({ default: false }),
  /** Users who may see global stats and clean up anyone's desktops ("local" is the open-mode user). */
  admins: t.Array(t.String(), { default: ["local"] }),
  streamTokenTtlSeconds: t.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  /** Refuse to create local desktops when no isolation service is loaded. */
  requireIsolation: t.Boolean({ default: false }),
});

export interface DesktopPluginOptions {
  /** Replaces @e2b/desktop (tests use an in-process fake; E2B is not reachable from CI). */
  e2bSdk?: E2BDesktopSdk;
  env?: Record<string, string | undefined>;
}

declare module "bunker/core" {
  interface BunkerServices {
    desktop: DesktopService;
  }
}

type Config = typeof DesktopConfig.static;

/** The isolation service if one is loaded and usable; says so in /health either way. Resolved at use time: the
 * liteboxd plugin that provides it may load after this one. */
function isolationResolver(ctx: PluginContext<Config>) {
  return (): { service?: IsolationService; why?: string } => {
    const service = ctx.services.get("isolation");
    const status = service?.status();
    if (service && status?.available) {
      ctx.healthWarning("isolation", null);
      return { service };
    }
    const why = service ? `the isolation service is unavailable (${status?.reason ?? "unknown reason"})` : "no plugin provides the isolation service";
    ctx.healthWarning("isolation", `desktop apps and commands run unisolated: ${why} (load the liteboxd plugin)`);
    return { why };
  };
}

function chooseDriver(ctx: PluginContext<Config>, options: DesktopPluginOptions, resolveIsolation: ReturnType<typeof isolationResolver>): DesktopDriver {
  const apiKey = ctx.config.e2bApiKey ?? (options.env ?? process.env).E2B_API_KEY;
  const backend = ctx.config.backend === "auto" ? (apiKey ? "e2b" : "local") : ctx.config.backend;
  if (backend === "e2b") {
    if (!apiKey) throw new Error("plugins.desktop.backend is e2b but no API key: set E2B_API_KEY or plugins.desktop.e2bApiKey");
    const sdk = options.e2bSdk;
    return new E2BDriver(sdk ? async () => sdk : realE2BSdk, apiKey, ctx.config.e2bDomain);
  }
  const isolation = (): IsolationService | undefined => {
    const { service, why } = resolveIsolation();
    if (!service && ctx.config.requireIsolation) throw new Error(`${why}; plugins.desktop.requireIsolation is set`);
    return service;
  };
  return new LocalDriver({ dataDir: ctx.dataDir, isolation });
}

export function createDesktopPlugin(options: DesktopPluginOptions = {}) {
  return definePlugin({
    name: "desktop",
    version: "0.1.0",
    description: "Virtual desktops (E2B Desktop operations) on local Xvfb or E2B, with screenshots, input and live views",
    prefix: "/desktop",
    config: DesktopConfig,
    migrations,
    system: {
      // xterm is the terminal apps launch; without xfonts-base it starts without its default font.
      programs: {
        Xvfb: "xvfb", xdotool: "xdotool", xclip: "xclip", x11vnc: "x11vnc", openbox: "openbox", xprop: "x11-utils",
        xwininfo: "x11-utils", "xdg-open": "xdg-utils", file: "file", xterm: "xterm",
      },
      apt: ["novnc", "xfonts-base", "fonts-noto-cjk"],
      testApt: ["chromium", "scrot"],
    },
    setup(ctx) {
      const store = new DesktopStore(ctx.db);
      const resolveIsolation = isolationResolver(ctx);
      const driver = chooseDriver(ctx, options, resolveIsolation);
      let streams: StreamRegistry | undefined;
      const service = new DesktopService({
        driver, store, log: ctx.log,
        defaults: {
          template: ctx.config.defaultTemplate, cpuCount: ctx.config.defaultCpuCount, memoryMb: ctx.config.defaultMemoryMb,
          timeoutSeconds: ctx.config.defaultTimeoutSeconds, screenWidth: ctx.config.defaultScreenWidth,
          screenHeight: ctx.config.defaultScreenHeight, allowInternetAccess: ctx.config.allowInternetAccess,
        },
        maxPerUser: ctx.config.maxConcurrentSandboxes,
        admins: ctx.config.admins,
        onDestroyed: (id) => streams?.stopForDesktop(id),
      });
      streams = new StreamRegistry(service, ctx.config.streamTokenTtlSeconds * 1000,
        (streamId, token) => `${ctx.baseUrl}${ctx.prefix}/streams/${streamId}/view#token=${token}`);
      ctx.services.provide("desktop", service);
      ctx.publicPaths("/novnc/**", "/streams/*/view", "/streams/*/ws");
      ctx.metrics.gauge("desktop_active", "Desktops running now", () => service.activeCount());
      ctx.onStart(async () => {
        if (driver.kind === "local") resolveIsolation();
        const stale = await store.markAllDestroyed("the server restarted");
        if (stale) ctx.log.info("marked desktops of a previous run as destroyed", { count: stale });
      });
      ctx.onStop(() => service.shutdown());
      return new Elysia().use(desktopRoutes(service, streams)).use(viewerRoutes(() => ctx.prefix, streams));
    },
  });
}

export default createDesktopPlugin();
