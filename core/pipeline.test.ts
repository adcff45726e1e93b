import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "./app";
import { BunkerError, notFound } from "./errors";
import { definePlugin } from "./plugin";

// A plugin whose real clients expect another error shape renders it with its own onError, on its own instance.
const compat = definePlugin({
  name: "compat",
  version: "1.0.0",
  config: t.Object({}),
  setup: () =>
    new Elysia()
      .onError(({ error, code }) => {
        const status = error instanceof BunkerError ? error.status : code === "VALIDATION" ? 400 : 500;
        return Response.json({ message: (error as Error).message, reason: String(code) }, { status });
      })
      .get("/things/:id", ({ params }) => {
        throw notFound(`thing ${params.id} not found`);
      })
      .post("/things", ({ body }) => body, { body: t.Object({ name: t.String({ minLength: 1 }) }) })
      .get("/crash", () => {
        throw new Error("compat crashed");
      }),
});

const plain = definePlugin({
  name: "plain",
  version: "1.0.0",
  config: t.Object({}),
  setup: () =>
    new Elysia()
      .get("/things/:id", ({ params }) => {
        throw notFound(`thing ${params.id} not found`);
      })
      .post("/things", ({ body }) => body, { body: t.Object({ name: t.String({ minLength: 1 }) }) }),
});

const tmp = mkdtempSync(join(tmpdir(), "bunker-pipeline-"));
let bunker: Bunker;
beforeAll(async () => {
  bunker = await createBunker({ builtins: false, plugins: [compat, plain], config: { dataDir: tmp, log: { level: "silent" } }, env: {}, logSink: () => {} });
});
afterAll(async () => {
  await bunker.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const get = (path: string) => bunker.handle(new Request(`http://localhost${path}`, { headers: { "x-request-id": "req-1" } }));
const post = (path: string, body: unknown) =>
  bunker.handle(new Request(`http://localhost${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }));

describe("a plugin's own onError", () => {
  test("renders a BunkerError its route throws, and the response still carries the request id", async () => {
    const res = await get("/compat/things/7");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: "thing 7 not found", reason: "NOT_FOUND" });
    expect(res.headers.get("x-request-id")).toBe("req-1");
  });

  test("renders validation failures of its routes", async () => {
    const res = await post("/compat/things", { name: "" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ reason: "VALIDATION" });
  });

  test("renders unexpected errors of its routes", async () => {
    const res = await get("/compat/crash");
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: "compat crashed", reason: "UNKNOWN" });
  });

  test("does not reach another plugin's routes: they keep the core's error body", async () => {
    const missing = await get("/plain/things/7");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "NOT_FOUND", message: "thing 7 not found", request_id: "req-1" } });
    const invalid = await post("/plain/things", { name: "" });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
  });

  test("does not answer for paths under its prefix that match no route", async () => {
    const res = await get("/compat/nowhere");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ROUTE_NOT_FOUND");
  });
});
