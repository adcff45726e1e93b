// The standard-library Python agent speaks the AgentCore contract: JSON, SSE streaming, ping.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../../../test/support/eventually";
import { join } from "node:path";
import { parseSse } from "../client";

let proc: ReturnType<typeof Bun.spawn>;
let base = "";

beforeAll(async () => {
  const probe = Bun.serve({ port: 0, fetch: () => new Response("") });
  const port = probe.port;
  probe.stop(true);
  proc = Bun.spawn(["python3", "-u", join(import.meta.dir, "python-agent", "agent.py")], {
    env: { ...process.env, PORT: String(port) },
    stdout: "ignore",
    stderr: "inherit",
  });
  base = `http://127.0.0.1:${port}`;
  await eventually(() => fetch(`${base}/ping`).then((r) => r.ok, () => false), "the python agent to answer /ping");
});
afterAll(() => proc?.kill());

describe("the Python example agent", () => {
  test("answers /ping with Healthy and an integer timestamp", async () => {
    const body = (await (await fetch(`${base}/ping`)).json()) as Record<string, unknown>;
    expect(body.status).toBe("Healthy");
    expect(Number.isInteger(body.time_of_last_update)).toBe(true);
  });

  test("answers a JSON invocation as an InvocationResponse carrying the session header", async () => {
    const res = await fetch(`${base}/invocations`, {
      method: "POST",
      body: JSON.stringify({ prompt: "hello python" }),
      headers: { "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "s-1", "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id": "r-1" },
    });
    const body = (await res.json()) as { result: Record<string, unknown>; status: string; metadata: Record<string, unknown> };
    expect(body.status).toBe("success");
    expect(body.result).toMatchObject({ echo: "hello python", session: "s-1", language: "python" });
    expect(body.metadata.request_id).toBe("r-1");
  });

  test("streams one SSE frame per word", async () => {
    const res = await fetch(`${base}/invocations`, { method: "POST", body: JSON.stringify({ prompt: "one two three", stream: true }) });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const chunks: unknown[] = [];
    for await (const chunk of parseSse(res.body!)) chunks.push(chunk);
    expect(chunks).toEqual([
      { index: 0, token: "one" },
      { index: 1, token: "two" },
      { index: 2, token: "three" },
    ]);
  });

  test("reads a chunked request body as well as one with a Content-Length", async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"prompt": '));
        c.enqueue(new TextEncoder().encode('"chunked"}'));
        c.close();
      },
    });
    const res = await fetch(`${base}/invocations`, { method: "POST", body });
    expect(((await res.json()) as { result: { echo: string } }).result.echo).toBe("chunked");
  });

  test("unparsable JSON is a 400 with Invalid JSON", async () => {
    const res = await fetch(`${base}/invocations`, { method: "POST", body: "{oops" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Invalid JSON" });
  });
});
