// The audit table's migrations on both databases the core supports, with rows written before envs had owners.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { migrate, openDatabase } from "../../core/db";
import { startPostgres, type TestPostgres } from "../../test/support/postgres";
import { AuditStore, migrations } from "./store";
import { TEST_ROOT } from "./test-support";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

const databases: Array<[string, () => string | undefined]> = [
  ["SQLite", () => undefined],
  ["PostgreSQL", () => pg.url],
];

describe.each(databases)("env_operations on %s", (name, url) => {
  test("rows from before owners belong to the local user after the migration, and new rows keep their owner", async () => {
    const db = openDatabase({ url: url(), sqlitePath: join(TEST_ROOT, `audit-${name}-${crypto.randomUUID()}.db`) });
    try {
      await db.sql.unsafe("DROP TABLE IF EXISTS env_operations");
      // Recorded under a name of its own, so a shared test database's migration records stay as they are.
      const plugin = `env-fabric-test-${crypto.randomUUID()}`;
      await migrate(db, plugin, migrations.filter((m) => m.id <= 2));
      await db.sql`INSERT INTO env_operations (id, env_key, operation, arguments, outcome, actor, started_at)
        VALUES (${"old-row"}, ${"wf/n/v1"}, ${"create"}, ${"{}"}, ${"succeeded"}, ${"local"}, ${"2026-01-01T00:00:00.000Z"})`;
      expect(await migrate(db, plugin, migrations)).toEqual([3, 4]);

      const audit = new AuditStore(db);
      await audit.begin("alice", "wf/n/v1", "run", { code: "print(1)" }, "alice");
      expect((await audit.list({ owner: "local" })).map((r) => [r.id, r.owner])).toEqual([["old-row", "local"]]);
      expect((await audit.list({ owner: "alice", envKey: "wf/n/v1" })).map((r) => r.owner)).toEqual(["alice"]);
      expect((await audit.list()).map((r) => r.owner).sort()).toEqual(["alice", "local"]);
      expect((await audit.list({ envKey: "wf/n/v1" })).map((r) => r.owner).sort()).toEqual(["alice", "local"]);
      expect(await audit.list({ envKey: "wf/other/v1" })).toEqual([]);
      expect(await audit.list({ owner: "bob" })).toEqual([]);
      expect((await audit.list({ limit: 1 })).map((r) => r.owner)).toEqual(["alice"]);
    } finally {
      await db.close();
    }
  });
});
