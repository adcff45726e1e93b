// Durable sessions on both databases the core supports: SQLite (the default) and PostgreSQL (Debian's, started here).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createBunker } from "bunker/core";
import { join } from "node:path";
import { migrate, openDatabase } from "../../core/db";
import { startPostgres, type TestPostgres } from "../../test/support/postgres";
import uzoncalc from "./index";
import { migrations, SessionStore, type SessionRecord } from "./store";
import { eventually } from "../../test/support/eventually";
import { makeSafeDir, resume, start, status } from "./testing";

let pg: TestPostgres;
let dir: ReturnType<typeof makeSafeDir>;

beforeAll(async () => {
  pg = await startPostgres();
  dir = makeSafeDir("uzoncalc-store-");
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  dir?.cleanup();
});

const databases: Array<[string, () => string | undefined]> = [
  ["SQLite", () => undefined],
  ["PostgreSQL", () => pg.url],
];

describe.each(databases)("sessions stored in %s", (name, url) => {
  const open = (dataDir: string, config: Record<string, unknown> = {}) =>
    createBunker({
      builtins: false,
      plugins: [uzoncalc],
      config: {
        dataDir,
        ...(url() ? { databaseUrl: url() } : {}),
        log: { level: "silent" },
        plugins: { uzoncalc: { executor: "inprocess", safeDirs: [dir.safe], ...config } },
      },
    });

  test("a waiting session is resumed by a new server on the same database", async () => {
    const dataDir = join(dir.root, `data-${name}`);
    const id = `store-${name}`;
    const a = await open(dataDir);
    try {
      await start(a, { file_path: dir.sheet, func_name: "survey", session_id: id, params: { who: name } });
      await resume(a, id, { name: "Fay", subscribe: true });
    } finally {
      await a.stop();
    }
    const b = await open(dataDir);
    try {
      expect((await status(b, id)).body).toMatchObject({ status: "waiting_input", ui_steps: 1 });
      const done = await resume(b, id, { tags: ["b"] });
      expect(done.body.result).toMatchObject({ name: "Fay", subscribe: true, tags: ["b"] });
      expect(done.body.html.match(/Survey for/g)).toHaveLength(1);
    } finally {
      await b.stop();
    }
  });

  test("finished sessions older than the retention are pruned by the sweep", async () => {
    const b = await open(join(dir.root, `data-prune-${name}`), { retainFinishedMs: 0, sweepIntervalMs: 20 });
    await b.start();
    try {
      const r = await start(b, { file_path: dir.sheet, func_name: "echo", session_id: `prune-${name}` });
      expect(r.body.status).toBe("completed");
      await eventually(async () => (await status(b, `prune-${name}`)).status === 404, "the finished session to be pruned");
    } finally {
      await b.stop();
    }
  });
});

describe.each(databases)("the migration to per-owner session ids on %s", (name, url) => {
  /** A database of its own (PostgreSQL: a new database in the cluster), so the other tests' tables stay as they are. */
  async function freshDatabase() {
    if (!url()) return openDatabase({ sqlitePath: join(dir.root, `migrate-${crypto.randomUUID()}.db`) });
    const admin = openDatabase({ url: url(), sqlitePath: "" });
    const database = `uzoncalc_migrate_${crypto.randomUUID().replaceAll("-", "")}`;
    await admin.sql.unsafe(`CREATE DATABASE ${database}`);
    await admin.close();
    return openDatabase({ url: url()!.replace(/\/[^/]*$/, `/${database}`), sqlitePath: "" });
  }

  test("sessions stored before keep their owner and id, and two owners may then use the same id", async () => {
    const db = await freshDatabase();
    try {
      await migrate(db, "uzoncalc", migrations.filter((m) => m.id === 1));
      const now = new Date().toISOString();
      await db.sql`INSERT INTO uzoncalc_sessions (id, owner, file_path, func_name, params, inputs, status, ui, html, created_at, updated_at)
        VALUES (${"s1"}, ${"alice"}, ${"/safe/flow.ts"}, ${"survey"}, ${'{"who":"a"}'}, ${'[{"name":"A"}]'}, ${"waiting_input"},
                ${'{"title":"More","fields":[]}'}, ${"<h1>a</h1>"}, ${now}, ${now})`;
      expect(await migrate(db, "uzoncalc", migrations)).toEqual([2]);

      const store = new SessionStore(db);
      expect(await store.get("alice", "s1")).toMatchObject({ owner: "alice", params: { who: "a" }, inputs: [{ name: "A" }], status: "waiting_input" });
      expect(await store.get("bob", "s1")).toBeNull();
      const bobs: SessionRecord = {
        id: "s1", owner: "bob", filePath: "/safe/flow.ts", funcName: "survey", params: {}, inputs: [], status: "waiting_input",
        ui: null, html: "", result: undefined, error: null, createdAt: now, updatedAt: now,
      };
      await store.insert(bobs);
      await store.update({ ...bobs, status: "cancelled", updatedAt: new Date().toISOString() });
      expect((await store.get("bob", "s1"))?.status).toBe("cancelled");
      expect((await store.get("alice", "s1"))?.status).toBe("waiting_input");
      expect(await store.expireWaiting(new Date(Date.now() + 1000).toISOString(), new Set(), now, "closed")).toBe(1);
      expect((await store.get("alice", "s1"))?.status).toBe("cancelled");
    } finally {
      await db.close();
    }
  });
});
