// liteboxd's migrations on SQLite and PostgreSQL: rows stored before owners existed get one (issue 15.1).
import { describe, expect, test } from "bun:test";
import { migrate } from "../../core/db";
import { bothDatabases } from "../../test/support/postgres";
import { createStore, migrations } from "./store";

const databases = bothDatabases("liteboxd-store");

describe.each(databases)("the owner migration on %s", (_name, open) => {
  test("templates keep their author as owner, authorless ones and prepull tasks go to the open-mode user", async () => {
    const db = open();
    try {
      expect(await migrate(db, "liteboxd", migrations.slice(0, 1))).toEqual([1]);
      const at = new Date().toISOString();
      for (const [id, name, author] of [["t1", "by-bob", "bob"], ["t2", "by-nobody", null]] as const) {
        await db.sql`INSERT INTO liteboxd_templates (id, name, display_name, description, tags, author, is_public, latest_version, created_at, updated_at)
          VALUES (${id}, ${name}, ${null}, ${null}, ${"[]"}, ${author}, ${1}, ${1}, ${at}, ${at})`;
      }
      await db.sql`INSERT INTO liteboxd_prepulls (id, image, status, template, error, ready, total, started_at, completed_at)
        VALUES (${"p1"}, ${"host"}, ${"completed"}, ${null}, ${null}, ${1}, ${1}, ${at}, ${at})`;

      expect(await migrate(db, "liteboxd", migrations)).toEqual([2]);
      const store = createStore(db);
      expect((await store.templateByName("by-bob"))?.owner).toBe("bob");
      expect((await store.templateByName("by-nobody"))?.owner).toBe("local");
      expect((await store.prepull("p1"))?.owner).toBe("local");
    } finally {
      await db.close();
    }
  });
});
