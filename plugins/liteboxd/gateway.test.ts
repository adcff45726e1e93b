// The port gateway and pause/resume over real HTTP: an app inside a sandbox (no network of its own) reached through
// /api/v1/sandbox/:id/port/8080/*, with its access token; SSE frame by frame; WebSocket echo; paused means 409.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "./index";
import { eventually } from "../../test/support/eventually";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-gateway-"));
const APP = readFileSync(join(import.meta.dir, "testdata", "app_server.py"), "utf8");
let bunker: Bunker;
let api: string;
let sandbox: { id: string; accessToken: string; accessUrl: string };

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });


async function exec(id: string, command: string[]) {
  const res = await fetch(`${api}/sandboxes/${id}/exec`, json({ command }));
  return { status: res.status, body: (await res.json()) as { exit_code: number; stdout: string; error?: string } };
}

beforeAll(async () => {
  bunker = await createBunker({ builtins: false, plugins: [liteboxd], config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { warmPool: 0 } } } });
  await bunker.listen();
  api = `${bunker.baseUrl}/api/v1`;
  const tpl = await fetch(`${api}/templates`, json({
    name: "app",
    spec: {
      image: "host",
      command: ["python3", "/workspace/app_server.py"],
      files: [{ destination: "/workspace/app_server.py", content: APP }],
      readinessProbe: { httpGet: { path: "/hello", port: 8080 }, periodSeconds: 0, failureThreshold: 300 },
    },
  }));
  expect(tpl.status).toBe(201);
  const res = await fetch(`${api}/sandboxes`, json({ template: "app" }));
  sandbox = await res.json();
  await eventually(async () => (await (await fetch(`${api}/sandboxes/${sandbox.id}`)).json()).status === "running", "the app sandbox");
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the port gateway", () => {
  test("carries an HTTP request to the app inside and strips the access token", async () => {
    expect(sandbox.accessUrl).toBe(`${api}/sandbox/${sandbox.id}`);
    const res = await fetch(`${sandbox.accessUrl}/port/8080/hello/there?x=1`, { headers: { "x-access-token": sandbox.accessToken, "x-custom": "kept" } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe("/hello/there?x=1");
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers["x-access-token"]).toBeUndefined();
    const posted = await fetch(`${sandbox.accessUrl}/port/8080/echo`, { method: "POST", headers: { "x-access-token": sandbox.accessToken, "content-type": "text/plain" }, body: "ping" });
    expect(await posted.text()).toBe("ping");
  });

  test("refuses a missing or wrong token, and a token of another sandbox", async () => {
    const missing = await fetch(`${sandbox.accessUrl}/port/8080/hello`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toContain("X-Access-Token".toLowerCase());
    expect((await fetch(`${sandbox.accessUrl}/port/8080/hello`, { headers: { "x-access-token": "nope" } })).status).toBe(401);
    expect((await fetch(`${api}/sandbox/deadbeef/port/8080/hello`, { headers: { "x-access-token": sandbox.accessToken } })).status).toBe(401);
  });

  test("a port nobody listens on is a 502", async () => {
    const res = await fetch(`${sandbox.accessUrl}/port/9999/`, { headers: { "x-access-token": sandbox.accessToken } });
    expect(res.status).toBe(502);
  });

  test("streams SSE frame by frame, and the caller's disconnect reaches the app", async () => {
    const abort = new AbortController();
    const res = await fetch(`${sandbox.accessUrl}/port/8080/sse`, { headers: { "x-access-token": sandbox.accessToken }, signal: abort.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("data: one\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    // The second event only exists once we ask for it: the first arrived alone, unbuffered.
    expect(text).not.toContain("two");
    expect((await exec(sandbox.id, ["touch", "/workspace/go"])).body.exit_code).toBe(0);
    while (!text.includes("data: two\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    await eventually(async () => (await exec(sandbox.id, ["cat", "/workspace/disconnected"])).body.stdout === "yes", "the app to see the disconnect");
  });

  test("carries a WebSocket both ways", async () => {
    const ws = new WebSocket(`${sandbox.accessUrl.replace("http", "ws")}/port/8080/ws`, { headers: { "x-access-token": sandbox.accessToken } } as unknown as string[]);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    ws.onmessage = (e) => messages.push(String(e.data));
    ws.send("hello");
    ws.send("x".repeat(300));
    await eventually(async () => messages.length === 2, "two echoes");
    expect(messages).toEqual(["echo:hello", `echo:${"x".repeat(300)}`]);
    const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  test("a WebSocket without a valid token is refused before any upgrade", async () => {
    const ws = new WebSocket(`${sandbox.accessUrl.replace("http", "ws")}/port/8080/ws`);
    const outcome = await new Promise<string>((r) => {
      ws.onopen = () => r("open");
      ws.onerror = () => r("refused");
    });
    expect(outcome).toBe("refused");
  });
});

describe("pause and resume over HTTP", () => {
  test("a paused sandbox answers 409 on exec, files and the gateway, and works again after resume", async () => {
    const paused = await fetch(`${api}/sandboxes/${sandbox.id}/pause`, { method: "POST" });
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { status: string }).status).toBe("paused");
    const ex = await exec(sandbox.id, ["true"]);
    expect(ex.status).toBe(409);
    expect(ex.body.error).toContain("paused");
    expect((await fetch(`${api}/sandboxes/${sandbox.id}/files?path=/workspace/app_server.py`)).status).toBe(409);
    const gw = await fetch(`${sandbox.accessUrl}/port/8080/hello`, { headers: { "x-access-token": sandbox.accessToken } });
    expect(gw.status).toBe(409);
    expect(((await gw.json()) as { error: string }).error).toContain("paused");
    const resumed = await fetch(`${api}/sandboxes/${sandbox.id}/resume`, { method: "POST" });
    expect(((await resumed.json()) as { status: string }).status).toBe("running");
    expect((await fetch(`${sandbox.accessUrl}/port/8080/hello`, { headers: { "x-access-token": sandbox.accessToken } })).status).toBe(200);
  });

  test("resuming a running sandbox is harmless and pausing an unknown one is 404", async () => {
    expect((await fetch(`${api}/sandboxes/${sandbox.id}/resume`, { method: "POST" })).status).toBe(200);
    expect((await fetch(`${api}/sandboxes/nope1234/pause`, { method: "POST" })).status).toBe(404);
  });
});

describe("the gateway under API-key auth", () => {
  test("with keys required, the API refuses a caller without a key while the gateway takes the access token alone", async () => {
    const key = await bunker.keys.create("alice");
    expect((await fetch(`${api}/sandboxes`)).status).toBe(401);
    expect((await fetch(`${api}/sandboxes`, { headers: { authorization: `Bearer ${key.key}` } })).status).toBe(200);
    const res = await fetch(`${sandbox.accessUrl}/port/8080/hello`, { headers: { "x-access-token": sandbox.accessToken } });
    expect(res.status).toBe(200);
    expect((await fetch(`${sandbox.accessUrl}/port/8080/hello`)).status).toBe(401);
  });
});
