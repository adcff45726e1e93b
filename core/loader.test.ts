import { describe, expect, test } from "bun:test";
import { t } from "elysia";
import { createBunker } from "./app";
import type { Database } from "./db";
import { definePlugin, type PluginDefinition } from "./plugin";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../test/support/eventually";

declare module "./services" {
  interface BunkerServices {
    "provider.clock": { now(): number };
  }
}

const tmp = mkdtempSync(join(tmpdir(), "bunker-loader-"));

const plugin = (name: string, dependsOn: string[] = [], extra: Partial<PluginDefinition> = {}) =>
  definePlugin({ name, version: "1.0.0", dependsOn, config: t.Object({}), setup() {}, ...extra } as PluginDefinition);

const boot = (plugins: PluginDefinition[], config: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  createBunker({ builtins: false, plugins, config: { dataDir: tmp, log: { level: "silent" }, ...config }, env, logSink: () => {} });

describe("plugin order", () => {
  test("plugins start after the plugins they depend on, whatever order they were found in", async () => {
    const started: string[] = [];
    const track = (name: string, deps: string[] = []) =>
      plugin(name, deps, { setup: (ctx) => ctx.onStart(() => void started.push(name)) });
    const bunker = await boot([track("c", ["b"]), track("b", ["a"]), track("a"), track("d", ["a", "c"])]);
    await bunker.start();
    expect(started).toEqual(["a", "b", "c", "d"]);
    await bunker.stop();
  });

  test("plugins stop in reverse order", async () => {
    const stopped: string[] = [];
    const track = (name: string, deps: string[] = []) => plugin(name, deps, { setup: (ctx) => ctx.onStop(() => void stopped.push(name)) });
    const bunker = await boot([track("a"), track("b", ["a"]), track("c", ["b"])]);
    await bunker.start();
    await bunker.stop();
    expect(stopped).toEqual(["c", "b", "a"]);
  });

  test("a dependency cycle stops boot and names the cycle", async () => {
    await expect(boot([plugin("a", ["b"]), plugin("b", ["c"]), plugin("c", ["a"])])).rejects.toThrow(/cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/);
  });

  test("a missing dependency stops boot naming both plugins", async () => {
    await expect(boot([plugin("a", ["ghost"])])).rejects.toThrow('plugin "a" depends on "ghost", which is not installed');
  });

  test("depending on a disabled plugin stops boot", async () => {
    await expect(boot([plugin("a"), plugin("b", ["a"])], { plugins: { a: { enabled: false } } })).rejects.toThrow(
      'plugin "b" depends on "a", which is disabled in config',
    );
  });

  test("two plugins with one name stop boot", async () => {
    await expect(boot([plugin("a"), plugin("a")])).rejects.toThrow('duplicate plugin name "a"');
  });

  test("config for a plugin that is not installed stops boot", async () => {
    await expect(boot([plugin("a")], { plugins: { nope: {} } })).rejects.toThrow('plugins.nope: no plugin named "nope" is installed');
  });

  test("a disabled plugin is not set up", async () => {
    let setUp = false;
    const bunker = await boot([plugin("a", [], { setup: () => void (setUp = true) })], { plugins: { a: { enabled: false } } });
    expect(setUp).toBe(false);
    expect(bunker.plugins.map((p) => p.name)).toEqual([]);
    await bunker.stop();
  });

  test("a service provided by one plugin is available to its dependant", async () => {
    let got: unknown;
    const provider = plugin("provider", [], { setup: (ctx) => ctx.services.provide("provider.clock", { now: () => 42 }) });
    const consumer = plugin("consumer", ["provider"], { setup: (ctx) => void (got = ctx.services.require("provider.clock").now()) });
    const bunker = await boot([consumer, provider]);
    expect(got).toBe(42);
    await bunker.stop();
  });

  test("requiring a service nobody provides fails setup with a message naming it", async () => {
    const consumer = plugin("consumer", [], { setup: (ctx) => void ctx.services.require("nobody.here" as never) });
    await expect(boot([consumer])).rejects.toThrow(/plugin "consumer" requires service "nobody.here"/);
  });

  test("a plugin whose setup throws is named, and what boot opened before it is closed", async () => {
    const events: string[] = [];
    let signal: AbortSignal | undefined;
    let db: Database | undefined;
    const first = plugin("first", [], {
      setup: (ctx) => {
        signal = ctx.signal;
        db = ctx.db;
        ctx.onStop(() => void events.push("first stopped"));
        ctx.background("tick", () => void events.push("tick ran"), { intervalMs: 10, runAtStart: true });
      },
    });
    const broken = plugin("broken", ["first"], {
      setup: (ctx) => {
        ctx.onStop(() => void events.push("broken closed what it opened"));
        throw new Error("no licence file");
      },
    });
    const dataDir = mkdtempSync(join(tmp, "setup-fails-"));
    await expect(boot([first, broken], { dataDir })).rejects.toThrow('plugin "broken" failed in setup: no licence file');
    expect(events).toEqual(["broken closed what it opened", "first stopped"]);
    expect(signal?.aborted).toBe(true);
    await expect(db!.ping()).rejects.toThrow(/closed/i);
  });
});

describe("plugin config", () => {
  const configured = plugin("cfg", [], {
    config: t.Object({ port: t.Integer({ minimum: 1, maximum: 65535, default: 9000 }), mode: t.Union([t.Literal("fast"), t.Literal("safe")], { default: "safe" }) }),
    setup: (ctx) => {
      seen = ctx.config;
    },
  });
  let seen: unknown;

  test("defaults fill in what the config leaves out", async () => {
    const bunker = await boot([configured]);
    expect(seen).toEqual({ port: 9000, mode: "safe" });
    await bunker.stop();
  });

  test("an invalid value stops boot naming the plugin, the field and the value", async () => {
    await expect(boot([configured], { plugins: { cfg: { port: 70000 } } })).rejects.toThrow(/plugins\.cfg\.port: Expected integer to be less or equal to 65535 \(got 70000\)/);
  });

  test("environment variables override the file and are coerced to the schema's types", async () => {
    const bunker = await boot([configured], { plugins: { cfg: { port: 1234 } } }, { BUNKER_PLUGINS__CFG__PORT: "4321", BUNKER_PLUGINS__CFG__MODE: "fast" });
    expect(seen).toEqual({ port: 4321, mode: "fast" });
    await bunker.stop();
  });

  test("an invalid core setting names the field", async () => {
    await expect(boot([], { server: { port: "eighty" } })).rejects.toThrow(/config\.server\.port: Expected integer/);
  });

  test("a plugin prefix can be changed in config", async () => {
    const routed = plugin("routed", [], { setup: () => new (require("elysia").Elysia)().get("/ping", () => "pong") });
    const bunker = await boot([routed], { plugins: { routed: { prefix: "/custom" } } });
    const res = await bunker.handle(new Request("http://localhost/custom/ping"));
    expect(await res.text()).toBe("pong");
    expect((await bunker.handle(new Request("http://localhost/routed/ping"))).status).toBe(404);
    await bunker.stop();
  });
});

describe("plugin runtime", () => {
  test("a failing background task is logged and keeps running on its interval without stopping the server", async () => {
    const lines: string[] = [];
    let runs = 0;
    const flaky = plugin("flaky", [], {
      setup: (ctx) =>
        ctx.background("tick", () => {
          runs++;
          throw new Error(`tick ${runs} failed`);
        }, { intervalMs: 10, runAtStart: true }),
    });
    const bunker = await createBunker({ builtins: false, plugins: [flaky], config: { dataDir: tmp }, env: {}, logSink: (l) => lines.push(l) });
    await bunker.start();
    await eventually(() => runs >= 3, "three runs of the failing task", 5_000);
    expect((await bunker.handle(new Request("http://localhost/health"))).status).toBe(200);
    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "background task failed");
    expect(failures[0]).toMatchObject({ level: "error", plugin: "flaky", task: "tick", error: { message: "tick 1 failed" } });
    await bunker.stop();
  });

  test("plugin gauges and counters appear in /metrics and health warnings in /health", async () => {
    const gauged = plugin("gauged", [], {
      setup: (ctx) => {
        ctx.metrics.gauge("widgets", "Widgets in stock.", () => [{ labels: { color: "red" }, value: 7 }]);
        ctx.metrics.counter("spins_total", "Spins.").inc({ way: "left" }, 2);
        ctx.healthWarning("disk", "cache and data are on different filesystems");
      },
    });
    const bunker = await boot([gauged]);
    const metrics = await (await bunker.handle(new Request("http://localhost/metrics"))).text();
    expect(metrics).toContain('bunker_gauged_widgets{color="red"} 7');
    expect(metrics).toContain('bunker_gauged_spins_total{way="left"} 2');
    const health = (await (await bunker.handle(new Request("http://localhost/health"))).json()) as { status: string; warnings: unknown[] };
    expect(health.status).toBe("degraded");
    expect(health.warnings).toEqual([{ key: "gauged.disk", message: "cache and data are on different filesystems" }]);
    await bunker.stop();
  });
});
