import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { eventually } from "../test/support/eventually";
import { startPostgres, type TestPostgres } from "../test/support/postgres";
import { createBunker, type Bunker } from "./app";

const HELLO = resolve(import.meta.dir, "../test/fixtures/hello-plugin/index.ts");
const tmp = mkdtempSync(join(tmpdir(), "bunker-app-"));
let pg: TestPostgres;
beforeAll(async () => void (pg = await startPostgres()), 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function boot(extra: Record<string, unknown> = {}) {
  return createBunker({
    builtins: false,
    config: { dataDir: join(tmp, crypto.randomUUID()), log: { level: "silent" }, extraPlugins: [HELLO], plugins: { hello: { greeting: "Hi" } }, ...extra },
    env: {},
    logSink: () => {},
  });
}

const get = (b: Bunker, path: string, headers: Record<string, string> = {}) => b.handle(new Request(`http://localhost${path}`, { headers }));
const post = (b: Bunker, path: string, body: unknown, headers: Record<string, string> = {}) =>
  b.handle(new Request(`http://localhost${path}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...headers } }));

describe("an external plugin loaded by path", () => {
  test("serves its routes under its prefix with its config applied", async () => {
    const b = await boot();
    const res = await get(b, "/hello/greet/ada");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Hi, ada!" });
    await b.stop();
  });

  test("is listed in /plugins with its version, state and the service it provides", async () => {
    const b = await boot();
    await b.start();
    const body = (await (await get(b, "/plugins")).json()) as { plugins: Array<Record<string, unknown>>; services: unknown[] };
    expect(body.plugins).toEqual([expect.objectContaining({ name: "hello", version: "1.2.3", state: "running", prefix: "/hello" })]);
    expect(body.services).toEqual([{ name: "hello.greetings", plugin: "hello" }]);
    await b.stop();
  });

  test("an extra plugin path that does not exist stops boot with its name", async () => {
    await expect(boot({ extraPlugins: ["./nope/plugin.ts"] })).rejects.toThrow(/extra plugin "\.\/nope\/plugin\.ts" could not be loaded/);
  });
});

describe("error bodies", () => {
  let b: Bunker;
  beforeAll(async () => void (b = await boot({ debug: false })));
  afterAll(() => b.stop());

  test("a schema violation is 400 naming the failing field", async () => {
    const res = await post(b, "/hello/notes", { text: "" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { fields: Array<{ field: string }> } } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.fields.map((f) => f.field)).toEqual(["text"]);
  });

  test("a missing required field is 400 naming it", async () => {
    const res = await post(b, "/hello/notes", {});
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('"field":"text"');
  });

  test("unparsable JSON is 400", async () => {
    const res = await post(b, "/hello/notes", "{nope");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/INVALID_BODY|VALIDATION_FAILED/);
  });

  test("a BunkerError thrown by a plugin keeps its status, code and details", async () => {
    const res = await get(b, "/hello/notes/missing");
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code: "NOT_FOUND", message: "note missing not found", details: { id: "missing" } });
  });

  test("an unknown route is 404 ROUTE_NOT_FOUND", async () => {
    const res = await get(b, "/no/such/route");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ROUTE_NOT_FOUND");
  });

  test("an unexpected error is 500 with the request id and no stack", async () => {
    const res = await get(b, "/hello/boom", { "x-request-id": "trace-me-1" });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatchObject({ code: "INTERNAL_ERROR", request_id: "trace-me-1" });
    expect(text).not.toContain("kaboom");
    expect(text).not.toContain("stack");
  });

  test("in debug mode a 500 carries the stack", async () => {
    const dbg = await boot({ debug: true });
    const body = (await (await get(dbg, "/hello/boom")).json()) as { error: { details: { stack: string } } };
    expect(body.error.details.stack).toContain("kaboom");
    await dbg.stop();
  });
});

describe("request ids", () => {
  test("every response carries one, and a sent one is honoured", async () => {
    const b = await boot();
    const fresh = await get(b, "/health");
    const again = await get(b, "/health");
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-[0-9a-z]{6,}$/);
    expect(again.headers.get("x-request-id")).not.toBe(fresh.headers.get("x-request-id"));
    const kept = await get(b, "/hello/notes/x", { "x-request-id": "abc-123" });
    expect(kept.headers.get("x-request-id")).toBe("abc-123");
    const bogus = await get(b, "/health", { "x-request-id": "bad id with spaces" });
    expect(bogus.headers.get("x-request-id")).not.toBe("bad id with spaces");
    await b.stop();
  });
});

describe("metrics", () => {
  test("count requests by route template and status, over a real port", async () => {
    const b = await boot({ server: { port: 0 } });
    const { url } = await b.listen();
    for (let i = 0; i < 3; i++) await fetch(`${url}/hello/greet/user${i}`);
    await fetch(`${url}/hello/notes/missing`);
    await fetch(`${url}/nowhere`);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('bunker_http_requests_total{method="GET",route="/hello/greet/:name",status="200"} 3');
    expect(text).toContain('bunker_http_requests_total{method="GET",route="/hello/notes/:id",status="404"} 1');
    expect(text).toContain('bunker_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toMatch(/bunker_http_request_duration_seconds_count\{method="GET",route="\/hello\/greet\/:name"\} 3/);
    await b.stop();
  });
});

describe("shutdown", () => {
  test("a request still running at server.shutdownTimeoutMs is cut off, and stop() returns within the budget", async () => {
    const b = await boot({ server: { port: 0, shutdownTimeoutMs: 300 } });
    const { url } = await b.listen();
    const stuck = fetch(`${url}/hello/slow?ms=5000`).then((r) => r.status, () => "cut off");
    await eventually(() => (b.app.server?.pendingRequests ?? 0) > 0, "the slow request to be in flight");
    const started = performance.now();
    await b.stop();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await stuck).toBe("cut off");
    expect(b.state).toBe("stopped");
  });
});

describe("docs", () => {
  test("the OpenAPI spec lists plugin routes with their schemas, and the UI loads its assets locally", async () => {
    const b = await boot();
    const spec = (await (await get(b, "/docs/json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toContain("/hello/notes");
    const page = await (await get(b, "/docs")).text();
    expect(page).toContain("/docs/assets/swagger-ui-bundle.js");
    expect(page).not.toContain("unpkg.com");
    const asset = await get(b, "/docs/assets/swagger-ui-bundle.js");
    expect(asset.status).toBe(200);
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    await b.stop();
  });
});

const stores = [
  ["SQLite", () => ({})],
  ["PostgreSQL", () => ({ databaseUrl: pg.url })],
] as const;

describe.each(stores)("auth with keys stored in %s", (_name, dbConfig) => {
  test("open mode on loopback without keys treats callers as user local", async () => {
    const b = await boot({ ...dbConfig(), server: { host: "127.0.0.1" }, auth: { required: false } });
    if ((await b.keys.list()).length === 0) {
      const res = await post(b, "/hello/notes", { text: "hi" });
      expect(res.status).toBe(201);
    }
    await b.stop();
  });

  test("with a key, a missing, wrong or revoked key is 401 and a valid one scopes data to its user", async () => {
    const b = await boot({ ...dbConfig() });
    const alice = await b.keys.create("alice");
    const bob = await b.keys.create("bob");
    const missing = await post(b, "/hello/notes", { text: "x" });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
    const wrong = await post(b, "/hello/notes", { text: "x" }, { authorization: `Bearer ${alice.key.slice(0, -4)}AAAA` });
    expect(wrong.status).toBe(401);
    const created = await post(b, "/hello/notes", { text: "alice's" }, { authorization: `Bearer ${alice.key}` });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await get(b, `/hello/notes/${id}`, { authorization: `Bearer ${alice.key}` })).status).toBe(200);
    expect((await get(b, `/hello/notes/${id}`, { authorization: `Bearer ${bob.key}` })).status).toBe(404);
    expect(await b.keys.revoke(alice.info.id)).toBe(true);
    expect((await get(b, `/hello/notes/${id}`, { authorization: `Bearer ${alice.key}` })).status).toBe(401);
    expect((await get(b, "/health")).status).toBe(200);
    const listed = await b.keys.list();
    // The secret is everything after "bk_<16 hex id>_" (base64url, so it may hold "_" itself).
    const secret = alice.key.slice("bk_".length + 16 + 1);
    expect(secret.length).toBe(43);
    expect(JSON.stringify(listed)).not.toContain(secret);
    await b.stop();
  });

  test("the external plugin's migration and queries run on this store", async () => {
    const b = await boot({ ...dbConfig(), auth: { required: true } });
    const { key } = await b.keys.create("carol");
    const created = await post(b, "/hello/notes", { text: "portable" }, { authorization: `Bearer ${key}` });
    const { id } = (await created.json()) as { id: string };
    const read = await get(b, `/hello/notes/${id}`, { authorization: `Bearer ${key}` });
    expect(await read.json()).toEqual({ id, text: "portable" });
    await b.stop();
  });
});

describe("binding", () => {
  test("a non-loopback address without keys refuses to start", async () => {
    await expect(boot({ server: { host: "0.0.0.0", port: 0 } })).rejects.toThrow(/refusing to listen on 0.0.0.0 without API keys/);
  });
});
