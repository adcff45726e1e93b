import { afterAll, describe, expect, test } from "bun:test";
import { AgentRuntimeApp } from "./agent";
import {
  AgentClientError,
  AgentRuntimeClient,
  AuthenticationError,
  errorFromResponse,
  InvocationError,
  NetworkError,
  parseSse,
  QuotaExceededError,
  RateLimitError,
  SandboxCreationError,
  SandboxOperationError,
  SessionNotFoundError,
  TemplateNotFoundError,
} from "./client";

describe("client construction", () => {
  test("without an API key or BUNKER_API_KEY the client refuses with AuthenticationError", () => {
    const saved = process.env.BUNKER_API_KEY;
    delete process.env.BUNKER_API_KEY;
    try {
      expect(() => new AgentRuntimeClient()).toThrow(AuthenticationError);
      process.env.BUNKER_API_KEY = "from-env";
      expect(() => new AgentRuntimeClient({ baseUrl: "http://127.0.0.1:1" })).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.BUNKER_API_KEY;
      else process.env.BUNKER_API_KEY = saved;
    }
  });
});

describe("network errors", () => {
  test("a refused connection is retried with backoff, then reported as NetworkError", async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response("") });
    const port = probe.port;
    probe.stop(true); // nothing listens there now
    const client = new AgentRuntimeClient({ apiKey: "k", baseUrl: `http://127.0.0.1:${port}`, config: { maxRetries: 2, retryDelayMs: 10 } });
    const started = performance.now();
    const error = await client.listSessions().catch((e) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toBeInstanceOf(AgentClientError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25); // 10 ms + 20 ms of backoff
  });
});

describe("error mapping", () => {
  const body = (code: string, message = "m") => ({ error: { code, message } });
  test("HTTP answers map onto the seed's error classes", () => {
    expect(errorFromResponse(401, body("UNAUTHORIZED"), "query")).toBeInstanceOf(AuthenticationError);
    expect(errorFromResponse(404, body("TEMPLATE_NOT_FOUND"), "create")).toBeInstanceOf(TemplateNotFoundError);
    expect(errorFromResponse(404, body("SESSION_NOT_FOUND"), "invoke")).toBeInstanceOf(SessionNotFoundError);
    expect(errorFromResponse(429, body("RATE_LIMITED"), "invoke")).toBeInstanceOf(RateLimitError);
    expect(errorFromResponse(429, body("QUOTA_EXCEEDED"), "create")).toBeInstanceOf(QuotaExceededError);
    expect(errorFromResponse(502, body("AGENT_NOT_READY"), "create")).toBeInstanceOf(SandboxCreationError);
    expect(errorFromResponse(409, body("SESSION_CLOSED"), "operate")).toBeInstanceOf(SandboxOperationError);
    const invocation = errorFromResponse(500, { error: "boom", error_type: "ValueError" }, "invoke");
    expect(invocation).toBeInstanceOf(InvocationError);
    expect(invocation.message).toBe("boom");
    expect(invocation.errorCode).toBe("ValueError");
    expect(invocation.status).toBe(500);
  });
});

describe("SSE parsing", () => {
  const app = new AgentRuntimeApp({ config: { ssePingIntervalMs: 5 } });
  app.entrypoint(async function* (req: { fail?: boolean }) {
    yield "text";
    await Bun.sleep(20); // long enough for a few `: ping` comments
    yield { n: 1 };
    if (req.fail) throw new Error("agent failed");
  });
  const server = app.run({ port: 0, host: "127.0.0.1" });
  afterAll(() => app.stop(true));
  const post = (body: unknown) => fetch(`http://127.0.0.1:${server.port}/invocations`, { method: "POST", body: JSON.stringify(body) });

  test("frames become parsed chunks and comments are skipped", async () => {
    const chunks: unknown[] = [];
    for await (const chunk of parseSse((await post({})).body!)) chunks.push(chunk);
    expect(chunks).toEqual(["text", { n: 1 }]);
  });

  test("an event: error frame throws InvocationError after the chunks before it", async () => {
    const chunks: unknown[] = [];
    const error = await (async () => {
      for await (const chunk of parseSse((await post({ fail: true })).body!)) chunks.push(chunk);
    })().catch((e) => e);
    expect(chunks).toEqual(["text", { n: 1 }]);
    expect(error).toBeInstanceOf(InvocationError);
    expect(error.message).toBe("agent failed");
  });
});
