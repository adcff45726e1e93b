import { describe, expect, test } from "bun:test";
import { AgentRuntimeApp, currentContext, PingStatus, type RequestContext } from "../agent";

const invoke = (app: AgentRuntimeApp, body: unknown, headers: Record<string, string> = {}) =>
  app.handle(
    new Request("http://localhost/invocations", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );

const ping = async (app: AgentRuntimeApp) => (await app.handle(new Request("http://localhost/ping"))).json() as Promise<Record<string, unknown>>;

/** Parses an SSE body into frames: {event?, data?, comment?}. */
async function readFrames(response: Response) {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const frame: { event?: string; data?: unknown; comment?: string } = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) frame.comment = line.slice(1).trim();
        else if (line.startsWith("event: ")) frame.event = line.slice(7);
        else if (line.startsWith("data: ")) frame.data = JSON.parse(line.slice(6));
      }
      return frame;
    });
}
const dataOf = (frames: Awaited<ReturnType<typeof readFrames>>) => frames.filter((f) => "data" in f && !f.event).map((f) => f.data);

describe("JSON invocations", () => {
  test("a plain value comes back as an InvocationResponse with the request id", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint((req: { query: string }) => ({ echo: req.query }));
    const res = await invoke(app, { query: "hi" }, { "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id": "req-1" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.result).toEqual({ echo: "hi" });
    expect(body.status).toBe("success");
    expect(typeof body.duration).toBe("number");
    expect(body.metadata.request_id).toBe("req-1");
  });

  test("an async entrypoint's resolved value is the result", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint(async (req: { n: number }) => {
      await Bun.sleep(5);
      return req.n * 2;
    });
    expect(((await (await invoke(app, { n: 21 })).json()) as any).result).toBe(42);
  });

  test("unparsable JSON is a 400 with Invalid JSON", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint(() => "never");
    const res = await invoke(app, "{nope");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Invalid JSON" });
  });

  test("a handler error is a 500 with error and error_type, and no stack unless debug", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint(() => {
      throw new TypeError("bad input");
    });
    const res = await invoke(app, {});
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "bad input", error_type: "TypeError" });

    const debugApp = new AgentRuntimeApp({ debug: true });
    const origError = console.error;
    console.error = () => {};
    try {
      debugApp.entrypoint(async () => {
        throw new RangeError("too far");
      });
      const body = (await (await invoke(debugApp, {})).json()) as Record<string, string>;
      expect(body.error_type).toBe("RangeError");
      expect(body.stack).toContain("too far");
    } finally {
      console.error = origError;
    }
  });

  test("a body over maxRequestSize is rejected with 413 before the handler runs", async () => {
    let called = false;
    const app = new AgentRuntimeApp({ config: { maxRequestSize: 100 } });
    app.entrypoint(() => (called = true));
    const res = await invoke(app, { text: "x".repeat(200) });
    expect(res.status).toBe(413);
    expect(called).toBe(false);
    expect((await invoke(app, { text: "ok" })).status).toBe(200);
  });

  test("a handler that outlives the timeout gets a 504 and its signal aborts", async () => {
    const app = new AgentRuntimeApp({ config: { timeout: 0.05 } });
    let aborted = false;
    app.entrypoint(async (_req, ctx) => {
      // Answers only once aborted: the timeout must come first.
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      aborted = true;
      return "late";
    });
    const res = await invoke(app, {});
    expect(res.status).toBe(504);
    expect(((await res.json()) as any).error_type).toBe("TimeoutError");
    expect(aborted).toBe(true);
  });

  test("other paths are 404 and GET /invocations is 405", async () => {
    const app = new AgentRuntimeApp();
    expect((await app.handle(new Request("http://localhost/nope"))).status).toBe(404);
    expect((await app.handle(new Request("http://localhost/invocations"))).status).toBe(405);
  });
});

describe("request context", () => {
  test("the session id comes from the AgentCore header, Bunker's header, or the body's sandbox_id", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint((_req, ctx) => ({ sandbox: ctx.sandboxId, session: ctx.sessionId }));
    const agentcore = await invoke(app, {}, { "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "s-aws" });
    expect(((await agentcore.json()) as any).result).toEqual({ sandbox: "s-aws", session: "s-aws" });
    expect(agentcore.headers.get("x-amzn-bedrock-agentcore-runtime-session-id")).toBe("s-aws");
    const bunker = await invoke(app, {}, { "X-Bunker-Session-Id": "s-bunker" });
    expect(((await bunker.json()) as any).result.sandbox).toBe("s-bunker");
    const body = await invoke(app, { sandbox_id: "s-body" });
    expect(((await body.json()) as any).result.sandbox).toBe("s-body");
  });

  test("a request id is generated when none is sent, and headers are forwarded", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint((_req, ctx) => ({ id: ctx.requestId, custom: ctx.headers["x-amzn-bedrock-agentcore-runtime-custom-user"] }));
    const body = (await (await invoke(app, {}, { "X-Amzn-Bedrock-AgentCore-Runtime-Custom-User": "ann" })).json()) as any;
    expect(body.result.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.result.custom).toBe("ann");
  });

  test("the context is reachable from nested code and generators, and from app.context", async () => {
    const app = new AgentRuntimeApp();
    const deep = async () => {
      await Bun.sleep(1);
      return currentContext()?.requestId;
    };
    app.entrypoint(async function* () {
      yield await deep();
      await Bun.sleep(1);
      yield app.context?.requestId;
    });
    const frames = await readFrames(await invoke(app, {}, { "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id": "r-7" }));
    expect(dataOf(frames)).toEqual(["r-7", "r-7"]);
    expect(currentContext()).toBeUndefined();
  });
});

describe("streaming", () => {
  test("a sync generator streams one JSON-encoded data frame per value with SSE headers", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint(function* () {
      yield "hello";
      yield { n: 1 };
      yield [1, 2];
    });
    const res = await invoke(app, {});
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    expect(dataOf(await readFrames(res))).toEqual(["hello", { n: 1 }, [1, 2]]);
  });

  test("an async generator and a Promise of a generator both stream", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint(async function* (req: { n: number }) {
      for (let i = 0; i < req.n; i++) {
        await Bun.sleep(1);
        yield `token ${i}`;
      }
    });
    expect(dataOf(await readFrames(await invoke(app, { n: 3 })))).toEqual(["token 0", "token 1", "token 2"]);

    const promised = new AgentRuntimeApp();
    promised.entrypoint(async () => {
      await Bun.sleep(1);
      return (function* () {
        yield 1;
        yield 2;
      })();
    });
    expect(dataOf(await readFrames(await invoke(promised, {})))).toEqual([1, 2]);
  });

  test("an error after the first chunk ends the stream with an event: error frame", async () => {
    const app = new AgentRuntimeApp();
    app.entrypoint(async function* () {
      yield "partial";
      throw new SyntaxError("model broke");
    });
    const frames = await readFrames(await invoke(app, {}));
    expect(dataOf(frames)).toEqual(["partial"]);
    const last = frames.at(-1)!;
    expect(last.event).toBe("error");
    expect(last.data).toEqual({ error: "model broke", error_type: "SyntaxError", message: "An error occurred during streaming" });
  });

  test("the response headers arrive before the generator's first value", async () => {
    const app = new AgentRuntimeApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    app.entrypoint(async function* () {
      await gate;
      yield "late";
    });
    const res = await invoke(app, {});
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.startsWith(":")).toBe(true);
    release();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toContain('data: "late"');
  });

  test("a quiet generator gets : ping comments", async () => {
    const app = new AgentRuntimeApp({ config: { ssePingIntervalMs: 20 } });
    app.entrypoint(async function* () {
      await Bun.sleep(120);
      yield "done";
    });
    const frames = await readFrames(await invoke(app, {}));
    expect(frames.filter((f) => f.comment === "ping").length).toBeGreaterThanOrEqual(2);
    expect(dataOf(frames)).toEqual(["done"]);
  });

  test("the generator advances only as fast as the client reads", async () => {
    const app = new AgentRuntimeApp();
    let produced = 0;
    app.entrypoint(function* () {
      for (let i = 0; i < 1000; i++) {
        produced++;
        yield i;
      }
    });
    const reader = (await invoke(app, {})).body!.getReader();
    await reader.read(); // the opening comment
    await reader.read();
    await reader.read();
    // Give the stream many turns of the event loop to run ahead if it would (it must not without a read).
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(produced).toBeLessThanOrEqual(3);
    await reader.cancel();
  });

  test("cancelling the stream closes the generator (finally runs) and aborts the signal", async () => {
    const app = new AgentRuntimeApp();
    let finalized = false;
    let signal: AbortSignal | undefined;
    app.entrypoint(function* (_req, ctx: RequestContext) {
      signal = ctx.signal;
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finalized = true;
      }
    });
    const reader = (await invoke(app, {})).body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(finalized).toBe(true);
    expect(signal?.aborted).toBe(true);
  });
});

describe("middleware", () => {
  test("middlewares run in registration order around the handler and can change the response", async () => {
    const app = new AgentRuntimeApp();
    const order: string[] = [];
    app.middleware(async (req, next) => {
      order.push("outer in");
      const res = await next();
      order.push("outer out");
      res.headers.set("x-outer", "1");
      return res;
    });
    app.middleware(async (req, next) => {
      order.push("inner in");
      const res = await next();
      order.push("inner out");
      return res;
    });
    app.entrypoint(() => {
      order.push("handler");
      return "ok";
    });
    const res = await invoke(app, {});
    expect(order).toEqual(["outer in", "inner in", "handler", "inner out", "outer out"]);
    expect(res.headers.get("x-outer")).toBe("1");
  });

  test("a middleware can answer without calling next", async () => {
    const app = new AgentRuntimeApp();
    app.middleware((req, next) => (req.headers.get("authorization") === "Bearer ok" ? next() : Response.json({ error: "nope" }, { status: 401 })));
    app.entrypoint(() => "secret");
    expect((await invoke(app, {})).status).toBe(401);
    expect((await invoke(app, {}, { authorization: "Bearer ok" })).status).toBe(200);
  });
});

describe("ping", () => {
  test("ping is Healthy when idle and HealthyBusy while an invocation runs", async () => {
    const app = new AgentRuntimeApp();
    let release!: () => void;
    let entered!: () => void;
    const running = new Promise<void>((r) => (entered = r));
    app.entrypoint(() => {
      entered();
      return new Promise((r) => (release = () => r("done")));
    });
    const idle = await ping(app);
    expect(idle.status).toBe("Healthy");
    expect(Number.isInteger(idle.time_of_last_update)).toBe(true);
    const pending = invoke(app, {});
    await running;
    expect((await ping(app)).status).toBe("HealthyBusy");
    release();
    await pending;
    expect((await ping(app)).status).toBe("Healthy");
  });

  test("the timestamp changes only when the status changes", async () => {
    const app = new AgentRuntimeApp();
    const first = await ping(app);
    const second = await ping(app);
    expect(second.time_of_last_update).toBe(first.time_of_last_update);
  });

  test("async tasks keep the agent HealthyBusy until they complete", async () => {
    const app = new AgentRuntimeApp();
    const id = app.addAsyncTask("index", { docs: 3 });
    expect((await ping(app)).status).toBe("HealthyBusy");
    expect(app.getAsyncTaskInfo().running_jobs[0]?.name).toBe("index");
    expect(app.completeAsyncTask(id)).toBe(true);
    expect((await ping(app)).status).toBe("Healthy");

    let release!: () => void;
    const job = app.asyncTask(() => new Promise<void>((r) => (release = r)), "job");
    const running = job();
    expect((await ping(app)).status).toBe("HealthyBusy");
    release();
    await running;
    expect((await ping(app)).status).toBe("Healthy");
  });

  test("a custom ping may return a PingStatus or an object", async () => {
    const app = new AgentRuntimeApp();
    app.ping(() => PingStatus.HealthyBusy);
    expect((await ping(app)).status).toBe("HealthyBusy");
    app.ping(async () => ({ status: "healthy", dependencies: { db: "up" } }));
    const body = await ping(app);
    expect(body.status).toBe("Healthy");
    expect(body.dependencies).toEqual({ db: "up" });
  });
});

describe("configuration", () => {
  test("defaults follow the AgentCore contract and the environment overrides them", () => {
    const app = new AgentRuntimeApp();
    expect(app.config.port).toBe(8080);
    expect(app.config.host).toBe("0.0.0.0");
    expect(app.config.timeout).toBe(300);
    expect(app.config.maxRequestSize).toBe(1024 * 1024);
  });

  test("CORS headers are added for allowed origins", async () => {
    const app = new AgentRuntimeApp({ config: { corsOrigins: ["https://ui.example"] } });
    app.entrypoint(() => 1);
    const ok = await invoke(app, {}, { origin: "https://ui.example" });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://ui.example");
    const other = await invoke(app, {}, { origin: "https://evil.example" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
