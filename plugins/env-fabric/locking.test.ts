// One mutation at a time per env, within one server and across processes (flock on the env's lock file).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { testBunker, type TestBunker } from "./test-support";

let tb: TestBunker;
beforeAll(async () => {
  tb = await testBunker();
  expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "busy" })).status).toBe(201);
});
afterAll(() => tb.close());

/** Another process (Python) holding the env's lock, the way a second server would. */
async function holdLockElsewhere(path: string) {
  const proc = Bun.spawn(
    ["python3", "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)", path],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = proc.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("held");
  return proc;
}

describe("per-env locking", () => {
  test("a second concurrent mutation of the same env is 423 ENV_LOCKED", async () => {
    const [first, second] = await Promise.all([
      tb.call("POST", "/envs/wf/busy/deps", { packages: ["bunkerdemo-a"] }),
      Bun.sleep(30).then(() => tb.call("POST", "/envs/wf/busy/sync")),
    ]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(423);
    expect(second.body.error.code).toBe("ENV_LOCKED");
  });

  test("a lock held by another process is honoured, and ?wait= waits for it", async () => {
    const holder = await holdLockElsewhere(join(tb.envsBase, "wf", "busy", ".v1.lock"));
    try {
      const refused = await tb.call("POST", "/envs/wf/busy/sync");
      expect(refused.status).toBe(423);
      expect((await tb.call("GET", "/envs/wf/busy")).body.busy).toBe(true);
      const waiting = tb.call("POST", "/envs/wf/busy/sync?wait=20");
      await Bun.sleep(200);
      holder.kill(); // the kernel drops the lock with its holder: no stale lock to clean up
      const res = await waiting;
      expect(res.status).toBe(200);
      expect(res.body.status).toBe("synced");
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
