// One database API for every plugin: Bun.SQL over SQLite (default, WAL) or PostgreSQL (DATABASE_URL).
import { SQL } from "bun";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { coreErrors } from "./errors";

export type Dialect = "sqlite" | "postgres";

/** SQL text per dialect, for the few statements that cannot be written once for both. */
export type DialectSql = string | { sqlite: string; postgres: string };

export interface Migration {
  /** Ordered, unique within the plugin; recorded once applied. */
  id: number;
  name: string;
  up: DialectSql | ((sql: SQL, dialect: Dialect) => Promise<void>);
}

export interface Database {
  readonly dialect: Dialect;
  /** Tagged-template queries; parameters are always bound, never interpolated. */
  readonly sql: SQL;
  transaction<T>(fn: (tx: SQL) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function openDatabase(options: { url?: string; sqlitePath: string }): Database {
  const url = options.url?.trim();
  const dialect: Dialect = url && /^postgres(ql)?:\/\//.test(url) ? "postgres" : "sqlite";
  let sql: SQL;
  let ready: Promise<void>;
  if (dialect === "postgres") {
    sql = new SQL({ url: url!, max: 10, idleTimeout: 30 });
    ready = Promise.resolve();
  } else {
    const filename = url?.startsWith("sqlite://") ? url.slice("sqlite://".length) : options.sqlitePath;
    if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true });
    sql = new SQL({ adapter: "sqlite", filename });
    ready = sql
      .unsafe("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON")
      .then(() => undefined);
  }
  let closed = false;
  return {
    dialect,
    sql,
    async transaction(fn) {
      await ready;
      return (await sql.begin(fn as (tx: SQL) => Promise<unknown>)) as Awaited<ReturnType<typeof fn>>;
    },
    async ping() {
      await ready;
      await sql`SELECT 1 AS ok`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await sql.close();
    },
  };
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS bunker_migrations (
  plugin TEXT NOT NULL,
  id INTEGER NOT NULL,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (plugin, id)
)`;

/** Applies the owner's pending migrations in id order, each in its own transaction; returns the ids applied. */
export async function migrate(db: Database, owner: string, migrations: readonly Migration[]): Promise<number[]> {
  const ids = new Set<number>();
  for (const m of migrations) {
    if (!Number.isInteger(m.id) || m.id < 1) {
      throw coreErrors.INVALID_MIGRATION(`${owner}: migration "${m.name}" needs a positive integer id`);
    }
    if (ids.has(m.id)) throw coreErrors.INVALID_MIGRATION(`${owner}: migration id ${m.id} is used twice`);
    ids.add(m.id);
  }
  await db.sql.unsafe(MIGRATIONS_TABLE);
  const rows = await db.sql`SELECT id FROM bunker_migrations WHERE plugin = ${owner}`;
  const applied = new Set<number>(rows.map((r: { id: number | string }) => Number(r.id)));
  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
    if (applied.has(m.id)) continue;
    try {
      await db.transaction(async (tx) => {
        await tx`INSERT INTO bunker_migrations (plugin, id, name, applied_at)
                 VALUES (${owner}, ${m.id}, ${m.name}, ${new Date().toISOString()})`;
        if (typeof m.up === "function") await m.up(tx, db.dialect);
        else await tx.unsafe(typeof m.up === "string" ? m.up : m.up[db.dialect]);
      });
    } catch (err) {
      throw coreErrors.MIGRATION_FAILED(`${owner}: migration ${m.id} "${m.name}" failed: ${(err as Error).message}`);
    }
    done.push(m.id);
  }
  return done;
}
