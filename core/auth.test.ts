// Fail-closed principals and admin keys, through a small plugin that reports who it thinks the caller is.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker } from "./app";
import { canAccess, principalOf } from "./auth";
import { BunkerError } from "./errors";
import { definePlugin } from "./plugin";
import { Elysia, t } from "elysia";

const tmp = mkdtempSync(join(tmpdir(), "bunker-auth-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const whoami = definePlugin({
  name: "whoami",
  version: "1.0.0",
  prefix: "/who",
  config: t.Object({}),
  setup(ctx) {
    // A public path whose handler still asks for a principal: it must get 401, never the open-mode user.
    ctx.publicPaths("/open");
    return new Elysia()
      .get("/me", ({ request }) => principalOf(request))
      .get("/open", ({ request }) => principalOf(request))
      .get("/owned/:owner", ({ request, params }) => ({ allowed: canAccess(principalOf(request), params.owner) }));
  },
});

async function boot() {
  return createBunker({ builtins: false, plugins: [whoami], env: {}, logSink: () => {}, config: { dataDir: join(tmp, crypto.randomUUID()), log: { level: "silent" } } });
}
const get = (b: Awaited<ReturnType<typeof boot>>, path: string, key?: string) =>
  b.handle(new Request(`http://localhost${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} }));

describe("principals fail closed", () => {
  test("a request the auth hook never saw has no principal: 401, not the open-mode user", () => {
    expect(() => principalOf(new Request("http://localhost/x"))).toThrow(BunkerError);
    try {
      principalOf(new Request("http://localhost/x"));
    } catch (error) {
      expect((error as BunkerError).status).toBe(401);
    }
  });

  test("a public route that asks who the caller is gets 401, in open mode and with keys", async () => {
    const b = await boot();
    expect((await get(b, "/who/me")).status).toBe(200);
    expect(await (await get(b, "/who/me")).json()).toEqual({ userId: "local", keyId: null });
    expect((await get(b, "/who/open")).status).toBe(401);
    const { key } = await b.keys.create("alice");
    expect((await get(b, "/who/open", key)).status).toBe(401);
    await b.stop();
  });
});

describe("admin keys", () => {
  test("an admin key is marked admin and may reach every owner's objects; a user key only its own", async () => {
    const b = await boot();
    const admin = await b.keys.create("root-ops", "ops", { role: "admin" });
    const alice = await b.keys.create("alice");
    expect(admin.info.role).toBe("admin");
    expect(await (await get(b, "/who/me", admin.key)).json()).toEqual({ userId: "root-ops", keyId: admin.info.id, admin: true });
    expect(await (await get(b, "/who/owned/bob", admin.key)).json()).toEqual({ allowed: true });
    expect(await (await get(b, "/who/owned/bob", alice.key)).json()).toEqual({ allowed: false });
    expect(await (await get(b, "/who/owned/alice", alice.key)).json()).toEqual({ allowed: true });
    expect((await b.keys.list()).map((k) => k.role).sort()).toEqual(["admin", "user"]);
    await b.stop();
  });
});
