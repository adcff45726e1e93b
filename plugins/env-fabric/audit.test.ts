// The env_operations audit trail: a row per side-effecting operation, written before it; no database, no change.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../../test/support/eventually";
import { testBunker, type TestBunker } from "./test-support";

describe("audit rows", () => {
  let tb: TestBunker;
  beforeAll(async () => {
    tb = await testBunker();
  });
  afterAll(() => tb.close());

  test("create, add, remove, sync, run, delete and a failure each leave a completed row", async () => {
    const base = "/envs/wf/audited";
    expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "audited", packages: ["bunkerdemo-a"] })).status).toBe(201);
    expect((await tb.call("POST", `${base}/deps`, { packages: ["bunkerdemo-b"] })).status).toBe(200);
    expect((await tb.call("POST", `${base}/deps`, { packages: ["bunkerdemo-a==9.9"] })).status).toBe(422);
    expect((await tb.call("DELETE", `${base}/deps`, { packages: ["bunkerdemo-b"] })).status).toBe(200);
    expect((await tb.call("POST", `${base}/sync`)).status).toBe(200);
    expect((await tb.call("POST", `${base}/run`, { code: "print(1)" })).status).toBe(200);
    expect((await tb.call("DELETE", base)).status).toBe(200);

    const rows = (await tb.call("GET", "/envs/operations?workflow_id=wf&node_id=audited&version_id=v1")).body.operations.reverse();
    expect(rows.map((r: { operation: string; outcome: string }) => `${r.operation}:${r.outcome}`)).toEqual([
      "create:succeeded", "add:succeeded", "add:failed", "remove:succeeded", "sync:succeeded", "run:succeeded", "delete:succeeded",
    ]);
    const failed = rows[2];
    expect(failed).toMatchObject({ env_key: "wf/audited/v1", error_code: "PACKAGE_RESOLUTION_FAILED", actor: "local", arguments: { packages: ["bunkerdemo-a==9.9"] } });
    for (const row of rows) {
      expect(row.duration_ms).toBeGreaterThanOrEqual(0);
      expect(Date.parse(row.ended_at)).toBeGreaterThanOrEqual(Date.parse(row.started_at));
    }
  });

  test("cleanup removes idle envs, audits each removal and sweeps a crashed create's temp dir", async () => {
    expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "idle" })).status).toBe(201);
    const dry = await tb.call("POST", "/envs/cleanup", { idle_hours: 0, dry_run: true });
    expect(dry.body.removed).toContain("wf/idle/v1");
    expect(existsSync(join(tb.localEnvs, "wf", "idle", "v1"))).toBe(true);
    const leftover = join(tb.localEnvs, "wf", "idle", ".v7.tmp-crashed");
    mkdirSync(join(leftover, ".venv"), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(leftover, twoHoursAgo, twoHoursAgo);
    const res = await tb.call("POST", "/envs/cleanup", { idle_hours: 0 });
    expect(res.body).toMatchObject({ status: "cleaned", idle_hours: 0, leftovers_removed: 1 });
    expect(existsSync(leftover)).toBe(false);
    expect(res.body.removed).toContain("wf/idle/v1");
    expect(existsSync(join(tb.localEnvs, "wf", "idle", "v1"))).toBe(false);
    const rows = (await tb.call("GET", "/envs/operations?workflow_id=wf&node_id=idle&version_id=v1")).body.operations;
    expect(rows[0]).toMatchObject({ operation: "cleanup", outcome: "succeeded" });
  });
});

describe("idle cleanup in the background", () => {
  test("an env unused for CLEANUP_IDLE_HOURS is removed by the background task, and a recent one is kept", async () => {
    const first = await testBunker();
    const envsBase = first.envsBase;
    const localEnvs = first.localEnvs;
    for (const node of ["stale", "fresh"]) expect((await first.call("POST", "/envs", { workflow_id: "wf", node_id: node })).status).toBe(201);
    await first.bunker.stop();
    const meta = join(localEnvs, "wf", "stale", "v1", "bunker-env.json");
    const old = new Date(Date.now() - 100 * 3_600_000).toISOString();
    writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, "utf8")), last_used_at: old }));

    const tb = await testBunker({ config: { envsBasePath: envsBase, cleanupIdleHours: 72, cleanupIntervalMinutes: 60 }, start: true });
    try {
      await eventually(() => !existsSync(join(localEnvs, "wf", "stale", "v1")), "the background cleanup to remove the stale env");
      expect(existsSync(join(localEnvs, "wf", "fresh", "v1"))).toBe(true);
      const rowsOf = async () => (await tb.call("GET", "/envs/operations?workflow_id=wf&node_id=stale&version_id=v1")).body.operations;
      await eventually(async () => (await rowsOf())[0]?.outcome === "succeeded", "the cleanup's audit row to be completed");
      expect((await rowsOf())[0]).toMatchObject({ operation: "cleanup", actor: "system:cleanup" });
    } finally {
      await tb.close();
      await first.close();
    }
  });
});

describe("database down", () => {
  test("with the audit table gone, mutations fail with 500 DB_AUDIT_ERROR and change nothing", async () => {
    const tb = await testBunker();
    try {
      expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "kept", packages: ["bunkerdemo-a==1.0"] })).status).toBe(201);
      const dir = join(tb.localEnvs, "wf", "kept", "v1");
      const before = readFileSync(join(dir, "pyproject.toml"), "utf8");
      await tb.bunker.db.sql`DROP TABLE env_operations`;

      const create = await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "new" });
      expect(create.status).toBe(500);
      expect(create.body.error.code).toBe("DB_AUDIT_ERROR");
      expect(existsSync(join(tb.localEnvs, "wf", "new", "v1"))).toBe(false);

      const add = await tb.call("POST", "/envs/wf/kept/deps", { packages: ["bunkerdemo-b"] });
      expect(add.body.error.code).toBe("DB_AUDIT_ERROR");
      expect(readFileSync(join(dir, "pyproject.toml"), "utf8")).toBe(before);

      const run = await tb.call("POST", "/envs/wf/kept/run", { code: "open('/tmp/never', 'w')" });
      expect(run.body.error.code).toBe("DB_AUDIT_ERROR");
      expect((await tb.call("DELETE", "/envs/wf/kept")).body.error.code).toBe("DB_AUDIT_ERROR");
      expect(existsSync(dir)).toBe(true);
    } finally {
      await tb.close();
    }
  });
});
