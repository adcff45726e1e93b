// Session ids are per owner: bob's "s1" and alice's "s1" are two sessions, and nobody learns of another's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Bunker } from "bunker/core";
import { join } from "node:path";
import { withoutRequestId } from "../../test/support/tenancy";
import { calcBunker, call, EXECUTOR_VARIANTS, makeSafeDir } from "./testing";

type As = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

const userOf = (bunker: Bunker, key: string): As => (method, path, body) => call(bunker, method, path, body, { authorization: `Bearer ${key}` });

describe.each(EXECUTOR_VARIANTS)("$name", (variant) => {
  let dir: ReturnType<typeof makeSafeDir>;
  beforeAll(() => {
    dir = makeSafeDir("uzoncalc-tenancy-");
  });
  afterAll(() => dir.cleanup());

  test("bob starting alice's session id gets a session of his own, and each resumes only their own", async () => {
    const dataDir = join(dir.root, "data-same-id");
    const first = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
    const aliceKey = (await first.keys.create("alice")).key;
    const bobKey = (await first.keys.create("bob")).key;
    const carolKey = (await first.keys.create("carol")).key;
    try {
      const alice = userOf(first, aliceKey);
      const bob = userOf(first, bobKey);
      const a = await alice("POST", "/v1/calc/execution/start", { file_path: dir.sheet, func_name: "survey", session_id: "s1", params: { who: "alice" } });
      expect(a.body.status).toBe("waiting_input");
      const b = await bob("POST", "/v1/calc/execution/start", { file_path: dir.sheet, func_name: "survey", session_id: "s1", params: { who: "bob" } });
      expect(b.status).toBe(200);
      expect(b.body).toMatchObject({ status: "waiting_input", session_id: "s1", html: "<h1>Survey for bob</h1>" });
      // A second start of one's own id is still refused.
      expect((await bob("POST", "/v1/calc/execution/start", { file_path: dir.sheet, func_name: "survey", session_id: "s1" })).body.error.code).toBe("SESSION_EXISTS");

      expect((await bob("POST", "/v1/calc/execution/resume", { session_id: "s1", user_input: { name: "Bob" } })).body.ui_steps).toBe(1);
      const aliceView = await alice("GET", "/v1/calc/execution/status/s1");
      expect(aliceView.body).toMatchObject({ status: "waiting_input", ui_steps: 0, html: "<h1>Survey for alice</h1>" });
      expect((await alice("POST", "/v1/calc/execution/resume", { session_id: "s1", user_input: { name: "Alice" } })).body.html).toContain("Hello Alice");
    } finally {
      await first.stop();
    }

    // After a restart each owner's session replays from that owner's own recorded inputs.
    const after = await calcBunker(variant, dataDir, { safeDirs: [dir.safe] });
    try {
      const alice = userOf(after, aliceKey);
      const bob = userOf(after, bobKey);
      const carol = userOf(after, carolKey);
      const aliceDone = await alice("POST", "/v1/calc/execution/resume", { session_id: "s1", user_input: { tags: ["a"] } });
      expect(aliceDone.body).toMatchObject({ status: "completed", result: { name: "Alice", tags: ["a"] } });
      const bobDone = await bob("POST", "/v1/calc/execution/resume", { session_id: "s1", user_input: { tags: ["b"] } });
      expect(bobDone.body).toMatchObject({ status: "completed", result: { name: "Bob", tags: ["b"] } });
      expect(bobDone.body.html).toContain("Survey for bob");
      expect(bobDone.body.html).not.toContain("alice");
      // carol has no s1: every route answers exactly what it answers for an id nobody has.
      const missing = { error: { code: "SESSION_NOT_FOUND", message: "no session s1", details: { session_id: "s1" }, request_id: undefined } };
      for (const [method, path, body] of [
        ["GET", "/v1/calc/execution/status/s1", undefined],
        ["POST", "/v1/calc/execution/resume", { session_id: "s1", user_input: {} }],
        ["POST", "/v1/calc/execution/cancel", { session_id: "s1" }],
      ] as const) {
        const res = await carol(method, path, body);
        expect({ path, status: res.status, body: withoutRequestId(res.body) }).toEqual({ path, status: 404, body: missing });
      }
      expect(withoutRequestId((await carol("GET", "/v1/calc/execution/status/nobody-has-this")).body).error.code).toBe("SESSION_NOT_FOUND");
    } finally {
      await after.stop();
    }
  });
});
