// Sessions outlive the server (replayed from recorded inputs) and idle ones are closed, per executor.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import uzoncalc from "./index";
import { eventually } from "../../test/support/eventually";
import { calcBunker, EXECUTOR_VARIANTS, makeSafeDir, resume, start, status } from "./testing";

describe.each(EXECUTOR_VARIANTS)("$name", (variant) => {
  let dir: ReturnType<typeof makeSafeDir>;

  beforeAll(() => {
    dir = makeSafeDir();
  });

  afterAll(() => dir.cleanup());

  describe("restart then resume", () => {
    test("a session waiting on its second window survives a restart and completes with the whole report", async () => {
      const dataDir = join(dir.root, "data-restart");
      const before = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
      await before.start();
      let html: string;
      try {
        const first = await start(before, { file_path: dir.sheet, func_name: "survey", session_id: "durable-1", params: { who: "Eve" } });
        expect(first.body.status).toBe("waiting_input");
        const second = await resume(before, "durable-1", { name: "Eve", age: 41 });
        expect(second.body.ui.title).toBe("More");
        html = second.body.html;
      } finally {
        await before.stop();
      }

      const after = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
      await after.start();
      try {
        const waiting = await status(after, "durable-1");
        expect(waiting.body).toMatchObject({ status: "waiting_input", ui_steps: 1, html, ui: { title: "More" } });
        const done = await resume(after, "durable-1", { tags: ["a"], bio: "x" });
        expect(done.body.status).toBe("completed");
        expect(done.body.result).toEqual({ name: "Eve", age: 41, color: "green", subscribe: false, tags: ["a"], bio: "x" });
        expect(done.body.html).toBe(`${html}<p>Tags: a; bio: x</p>`);
        expect((await status(after, "durable-1")).body.status).toBe("completed");
      } finally {
        await after.stop();
      }
    });

    test("a finished session is still readable after a restart", async () => {
      const dataDir = join(dir.root, "data-finished");
      const before = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
      await before.start();
      try {
        await start(before, { file_path: dir.sheet, func_name: "echo", session_id: "finished-1", params: { k: "v" } });
      } finally {
        await before.stop();
      }
      const after = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
      try {
        const r = await status(after, "finished-1");
        expect(r.body).toMatchObject({ status: "completed", html: "<p>echo</p>", result: { k: "v" } });
      } finally {
        await after.stop();
      }
    });
  });

  describe("idle timeout", () => {
    test("a session left waiting while the server was down is closed by the first sweep after the timeout", async () => {
      const dataDir = join(dir.root, "data-idle-offline");
      const before = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
      await before.start();
      try {
        await start(before, { file_path: dir.sheet, func_name: "guarded", session_id: "offline-1" });
      } finally {
        await before.stop();
      }
      // No waiting here for the timeout to pass: the sweep runs every 20 ms and closes it once 50 ms have.
      const after = await calcBunker(variant, dataDir, { safeDirs: [dir.safe], idleTimeoutMs: 50, sweepIntervalMs: 20 });
      await after.start();
      try {
        const closed = await eventually(async () => {
          const r = await status(after, "offline-1");
          return r.body.status === "cancelled" ? r.body : undefined;
        }, "the offline session to be closed by the sweep");
        expect(closed.error).toBe("closed after 50 ms without input");
      } finally {
        await after.stop();
      }
    });


    test("a session left waiting past the idle timeout is closed, running its finally block", async () => {
      const bunker = await calcBunker(variant, join(dir.root, "data-idle"), { safeDirs: [dir.safe], idleTimeoutMs: 300, sweepIntervalMs: 50 });
      await bunker.start();
      try {
        const first = await start(bunker, { file_path: dir.sheet, func_name: "guarded" });
        expect(first.body.status).toBe("waiting_input");
        const closed = await eventually(async () => {
          const r = await status(bunker, first.body.session_id);
          return r.body.status === "cancelled" ? r.body : undefined;
        }, "the idle session to be closed");
        expect(closed.html).toBe("<p>started</p><p>cleanup ran</p>");
        expect(closed.error).toBe("closed after 300 ms without input");
        expect((await resume(bunker, first.body.session_id, { x: 1 })).status).toBe(409);
      } finally {
        await bunker.stop();
      }
    });
  });
});

/** A bunker with only uzoncalc (in-process executor) over a fresh safe dir, stopped and removed afterwards. */
async function withInProcessBunker(
  core: Record<string, unknown>,
  plugin: Record<string, unknown>,
  fn: (bunker: Bunker, dir: ReturnType<typeof makeSafeDir>) => Promise<void>,
) {
  const dir = makeSafeDir();
  const bunker = await createBunker({
    builtins: false,
    plugins: [uzoncalc],
    config: { dataDir: join(dir.root, "data"), log: { level: "silent" }, ...core, plugins: { uzoncalc: { executor: "inprocess", safeDirs: [dir.safe], ...plugin } } },
  });
  try {
    await fn(bunker, dir);
  } finally {
    await bunker.stop();
    dir.cleanup();
  }
}

describe("error details", () => {
  test("the stack of a sheet error is shown only when the server runs with debug", async () => {
    await withInProcessBunker({ debug: true }, {}, async (bunker, dir) => {
      const r = await start(bunker, { file_path: dir.sheet, func_name: "failing" });
      expect(r.body.error).toBe("the load case is impossible");
      expect(r.body.error_stack).toContain("flow.ts");
    });
  });
});

describe("ownership", () => {
  test("a session belongs to the user whose key started it: others get 404", async () => {
    await withInProcessBunker({}, {}, async (bunker, dir) => {
      const alice = (await bunker.keys.create("alice")).key;
      const bob = (await bunker.keys.create("bob")).key;
      const as = (key: string, method: string, path: string, body?: unknown) =>
        bunker.handle(new Request(`http://localhost${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }));
      const started = await (await as(alice, "POST", "/v1/calc/execution/start", { file_path: dir.sheet, func_name: "guarded", session_id: "alice-1" })).json();
      expect(started.status).toBe("waiting_input");
      expect((await as(bob, "GET", "/v1/calc/execution/status/alice-1")).status).toBe(404);
      expect((await as(bob, "POST", "/v1/calc/execution/resume", { session_id: "alice-1", user_input: {} })).status).toBe(404);
      expect((await as(bob, "POST", "/v1/calc/execution/cancel", { session_id: "alice-1" })).status).toBe(404);
      expect((await as(alice, "GET", "/v1/calc/execution/status/alice-1")).status).toBe(200);
      expect((await bunker.handle(new Request("http://localhost/v1/calc/execution/status/alice-1"))).status).toBe(401);
    });
  });
});

describe("limits", () => {
  test("starting beyond maxSessions open sessions is 429 until one finishes", async () => {
    await withInProcessBunker({}, { maxSessions: 1 }, async (bunker, dir) => {
      const first = await start(bunker, { file_path: dir.sheet, func_name: "guarded" });
      const refused = await start(bunker, { file_path: dir.sheet, func_name: "guarded" });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("TOO_MANY_SESSIONS");
      await resume(bunker, first.body.session_id, { x: 1 });
      expect((await start(bunker, { file_path: dir.sheet, func_name: "guarded" })).body.status).toBe("waiting_input");
    });
  });
});
