import { describe, expect, test } from "bun:test";
import { bothDatabases } from "../test/support/postgres";
import { migrate, type Migration } from "./db";

const migrations: Migration[] = [
  { id: 1, name: "items", up: "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)" },
  {
    id: 2,
    name: "index by name",
    up: { sqlite: "CREATE INDEX items_name ON items (name)", postgres: "CREATE INDEX items_name ON items USING btree (name)" },
  },
  { id: 3, name: "seed", up: async (sql) => void (await sql`INSERT INTO items (id, name, qty) VALUES (${"seed"}, ${"first"}, ${1})`) },
];

const stores = bothDatabases("bunker-db");

describe.each(stores)("storage on %s", (_name, open) => {
  test("migrations apply in order once and are recorded", async () => {
    const db = open();
    try {
      const owner = `plugin_${crypto.randomUUID().slice(0, 8)}`;
      const ownMigrations = migrations.map((m) => ({ ...m, up: typeof m.up === "string" ? m.up.replaceAll("items", owner) : m.up }));
      ownMigrations[1] = { ...ownMigrations[1]!, up: { sqlite: `CREATE INDEX ${owner}_name ON ${owner} (name)`, postgres: `CREATE INDEX ${owner}_name ON ${owner} USING btree (name)` } };
      ownMigrations[2] = { id: 3, name: "seed", up: async (sql) => void (await sql.unsafe(`INSERT INTO ${owner} (id, name, qty) VALUES ('seed', 'first', 1)`)) };
      expect(await migrate(db, owner, ownMigrations)).toEqual([1, 2, 3]);
      expect(await migrate(db, owner, ownMigrations)).toEqual([]);
      const recorded = await db.sql`SELECT id, name FROM bunker_migrations WHERE plugin = ${owner} ORDER BY id`;
      expect(recorded.map((r: { id: number | string }) => Number(r.id))).toEqual([1, 2, 3]);
      const rows = await db.sql.unsafe(`SELECT name, qty FROM ${owner}`);
      expect(rows.map((r: { name: string; qty: number }) => [r.name, Number(r.qty)])).toEqual([["first", 1]]);
    } finally {
      await db.close();
    }
  });

  test("a failing migration is rolled back and not recorded", async () => {
    const db = open();
    try {
      const owner = `broken_${crypto.randomUUID().slice(0, 8)}`;
      const bad: Migration[] = [
        { id: 1, name: "ok", up: `CREATE TABLE ${owner} (id TEXT PRIMARY KEY)` },
        { id: 2, name: "bad", up: async (sql) => { await sql.unsafe(`INSERT INTO ${owner} (id) VALUES ('x')`); await sql.unsafe("SELECT * FROM no_such_table"); } },
      ];
      await expect(migrate(db, owner, bad)).rejects.toThrow(/migration 2 "bad" failed/);
      const recorded = await db.sql`SELECT id FROM bunker_migrations WHERE plugin = ${owner}`;
      expect(recorded.map((r: { id: number | string }) => Number(r.id))).toEqual([1]);
      const rows = await db.sql.unsafe(`SELECT id FROM ${owner}`);
      expect(rows.length).toBe(0);
    } finally {
      await db.close();
    }
  });

  test("duplicate migration ids are refused before anything runs", async () => {
    const db = open();
    try {
      const dup: Migration[] = [{ id: 1, name: "a", up: "SELECT 1" }, { id: 1, name: "b", up: "SELECT 1" }];
      await expect(migrate(db, "dup", dup)).rejects.toThrow(/migration id 1 is used twice/);
    } finally {
      await db.close();
    }
  });

  test("transactions commit together or not at all", async () => {
    const db = open();
    try {
      const table = `tx_${crypto.randomUUID().slice(0, 8)}`;
      await db.sql.unsafe(`CREATE TABLE ${table} (id TEXT PRIMARY KEY)`);
      await expect(
        db.transaction(async (tx) => {
          await tx.unsafe(`INSERT INTO ${table} (id) VALUES ('a')`);
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      await db.transaction(async (tx) => {
        await tx.unsafe(`INSERT INTO ${table} (id) VALUES ('b')`);
      });
      const rows = await db.sql.unsafe(`SELECT id FROM ${table}`);
      expect(rows.map((r: { id: string }) => r.id)).toEqual(["b"]);
    } finally {
      await db.close();
    }
  });
});
