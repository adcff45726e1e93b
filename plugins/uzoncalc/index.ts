// uzoncalc: calculation sheets written as async generators that pause on UI windows and resume with input.
import { definePlugin } from "bunker/core";
import { resolve } from "node:path";
import type { Executor } from "./drivers/executor";
import { InProcessExecutor } from "./drivers/inprocess";
import { IsolatedExecutor } from "./drivers/isolated";
import { childProcessSpawner, sandboxSpawner } from "./drivers/spawn";
import { SheetLoader } from "./loader";
import { calcRoutes } from "./routes";
import { configSchema } from "./schema";
import { CalcService } from "./service";
import { migrations, SessionStore } from "./store";

export type { ExecutionView } from "./service";

declare module "bunker/core" {
  interface BunkerServices {
    "uzoncalc.sessions": CalcService;
  }
}

export default definePlugin({
  name: "uzoncalc",
  version: "1.0.0",
  description: "Calculation sheets (async generators) that pause on forms and resume with validated input",
  prefix: "",
  config: configSchema,
  migrations,
  system: { testApt: ["chromium", "bubblewrap", "postgresql"] },
  setup(ctx) {
    const cfg = ctx.config;
    const safeDirs = cfg.safeDirs.map((d) => resolve(d));
    const runnerOptions = { stepTimeoutMs: cfg.stepTimeoutMs, maxHtmlBytes: cfg.maxHtmlBytes };
    const log = ctx.log;

    let executor: Executor;
    if (cfg.executor === "inprocess") {
      executor = new InProcessExecutor(safeDirs, runnerOptions);
    } else {
      const child = childProcessSpawner();
      executor = new IsolatedExecutor({
        ...runnerOptions,
        safeDirs,
        // The isolation service is looked up each time a worker starts: liteboxd may load after this plugin.
        spawn: () => {
          const isolation = ctx.services.get("isolation");
          const status = isolation?.status();
          if (isolation && status?.available) {
            ctx.healthWarning("isolation", null);
            return sandboxSpawner(isolation, { safeDirs, memoryMb: cfg.workerMemoryMb })();
          }
          ctx.healthWarning(
            "isolation",
            `sheets run in an unsandboxed worker process: ${isolation ? status?.reason ?? "isolation unavailable" : "no isolation service (enable the liteboxd plugin)"}`,
          );
          return child();
        },
        onStderr: (line) => log.debug("sheet worker", { line }),
      });
    }

    const service = new CalcService(executor, new SheetLoader(safeDirs), new SessionStore(ctx.db), {
      idleTimeoutMs: cfg.idleTimeoutMs,
      maxSessions: cfg.maxSessions,
      retainFinishedMs: cfg.retainFinishedMs,
      debug: ctx.debug,
    }, log);
    ctx.services.provide("uzoncalc.sessions", service);
    ctx.metrics.gauge("open_sessions", "Calculation sessions waiting or running", () => service.openSessions);
    ctx.background("idle-sessions", () => service.sweep(), { intervalMs: cfg.sweepIntervalMs });
    ctx.onStop(() => service.shutdown());
    ctx.publicPaths("/calc");
    return calcRoutes(service, ctx.prefix);
  },
});
