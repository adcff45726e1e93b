// One mutation at a time per env, within one server and across processes (flock on the env's lock file).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readLines } from "bunker/core";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../../test/support/eventually";
import { testBunker, TEST_ROOT, type TestBunker } from "./test-support";

let tb: TestBunker;
beforeAll(async () => {
  tb = await testBunker();
  expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "busy" })).status).toBe(201);
});
afterAll(() => tb.close());

/** Another process (Python) holding the env's lock, the way a second server would; resolves once it holds it. */
async function holdLockElsewhere(path: string) {
  const proc = Bun.spawn(
    ["python3", "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)", path],
    { stdout: "pipe", stderr: "inherit" },
  );
  const first = await readLines(proc.stdout).next();
  expect(first.value).toBe("held");
  return proc;
}

interface SseEvent {
  event: string;
  data: any;
}

async function sseEvents(res: Response): Promise<SseEvent[]> {
  const blocks = (await res.text()).split("\n\n").filter((b) => b.startsWith("event:"));
  return blocks.map((block) => {
    const [event, data] = block.split("\n");
    return { event: event!.slice("event: ".length), data: JSON.parse(data!.slice("data: ".length)) };
  });
}

describe("per-env locking", () => {
  test("a mutation while another operation holds the env is 423 ENV_LOCKED, and goes through once it is done", async () => {
    // A run holds the env (shared lock) until the test removes its gate file: no timing guesses.
    const gate = join(TEST_ROOT, `gate-${crypto.randomUUID()}`);
    const started = `${gate}.started`;
    writeFileSync(gate, "");
    const code = `import os, time\nopen(${JSON.stringify(started)}, "w").close()\nwhile os.path.exists(${JSON.stringify(gate)}): time.sleep(0.02)`;
    const run = tb.call("POST", "/envs/wf/busy/run", { code, timeout: 60 });
    try {
      await eventually(() => existsSync(started), "the run to start");
      for (const [method, path, body] of [
        ["POST", "/envs/wf/busy/deps", { packages: ["bunkerdemo-a"] }],
        ["POST", "/envs/wf/busy/sync", undefined],
        ["DELETE", "/envs/wf/busy", undefined],
      ] as const) {
        const refused = await tb.call(method, path, body);
        expect({ path, status: refused.status, code: refused.body.error?.code }).toEqual({ path, status: 423, code: "ENV_LOCKED" });
      }
    } finally {
      rmSync(gate, { force: true });
    }
    expect((await run).status).toBe(200);
    expect((await tb.call("POST", "/envs/wf/busy/deps", { packages: ["bunkerdemo-a"] })).status).toBe(200);
  });

  test("a lock held by another process is honoured, and ?wait= waits for it", async () => {
    const holder = await holdLockElsewhere(join(tb.localEnvs, "wf", "busy", ".v1.lock"));
    try {
      const refused = await tb.call("POST", "/envs/wf/busy/sync");
      expect(refused.status).toBe(423);
      expect((await tb.call("GET", "/envs/wf/busy")).body.busy).toBe(true);
      // With SSE the response starts at the first progress line, which says the request is waiting for the lock.
      const waiting = await tb.bunker.handle(
        new Request("http://localhost/envs/wf/busy/sync?wait=20", { method: "POST", headers: { accept: "text/event-stream" } }),
      );
      expect(waiting.status).toBe(200);
      holder.kill(); // the kernel drops the lock with its holder: no stale lock to clean up
      const events = await sseEvents(waiting);
      expect(events[0]!.data.line).toContain("waiting up to 20 s for another operation on env wf/busy/v1");
      expect(events.at(-1)).toMatchObject({ event: "result", data: { status: "synced" } });
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("runs share the env, and other envs are never blocked", async () => {
    const slow = "import time; time.sleep(0.5)";
    const [a, b, other] = await Promise.all([
      tb.call("POST", "/envs/wf/busy/run", { code: slow }),
      tb.call("POST", "/envs/wf/busy/run", { code: slow }),
      tb.call("POST", "/envs", { workflow_id: "wf", node_id: "other" }),
    ]);
    expect([a.status, b.status, other.status]).toEqual([200, 200, 201]);
  });
});
