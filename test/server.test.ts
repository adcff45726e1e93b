// `bun run server` as a user gets it: every built-in plugin loaded, with nothing configured.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer, type ServerProcess } from "./support/server";

const PLUGINS_DIR = resolve(import.meta.dir, "../plugins");
const builtins = readdirSync(PLUGINS_DIR).filter((d) => existsSync(join(PLUGINS_DIR, d, "index.ts")));
const dataDir = mkdtempSync(join(tmpdir(), "bunker-server-"));
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer([], { BUNKER_PORT: "0", BUNKER_DATA_DIR: dataDir, BUNKER_CONFIG: "" }, 60_000);
}, 90_000);
afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the server with embedded defaults", () => {
  test("loads every built-in plugin and reports each one running", async () => {
    const body = (await (await fetch(`${server.url}/plugins`)).json()) as { plugins: Array<{ name: string; state: string }> };
    const names = body.plugins.map((p) => p.name).sort();
    expect(names).toEqual([...builtins].sort());
    for (const p of body.plugins) expect(p.state).toBe("running");
  });

  test("answers /health and /readyz", async () => {
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string };
    expect(["ok", "degraded"]).toContain(health.status);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  test("documents every plugin's routes in the OpenAPI spec", async () => {
    const spec = (await (await fetch(`${server.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    const plugins = (await (await fetch(`${server.url}/plugins`)).json()) as { plugins: Array<{ name: string; prefix: string }> };
    for (const p of plugins.plugins) {
      expect(Object.keys(spec.paths).some((path) => path.startsWith(p.prefix + "/") || (p.prefix === "" && path !== "/health"))).toBe(true);
    }
  });

  test("warns loudly in its log that auth is off on loopback with no keys", () => {
    expect(server.logs.some((l) => l.includes("AUTH IS OFF"))).toBe(true);
  });
});
