// The env_operations audit table: a row is written before every side effect and completed after it.
import type { Database, Migration } from "bunker/core";
import { errors } from "./errors";

export const migrations: Migration[] = [
  {
    id: 1,
    name: "env_operations",
    up: `CREATE TABLE env_operations (
      id TEXT PRIMARY KEY,
      env_key TEXT NOT NULL,
      operation TEXT NOT NULL,
      arguments TEXT NOT NULL,
      outcome TEXT NOT NULL,
      error_code TEXT,
      duration_ms INTEGER,
      actor TEXT NOT NULL,
      started_at TEXT NOT NULL,
      ended_at TEXT
    )`,
  },
  { id: 2, name: "env_operations_env_key", up: "CREATE INDEX env_operations_env_key ON env_operations (env_key, started_at)" },
  // Rows from before envs had owners belong to the open-mode user, as their envs do.
  { id: 3, name: "env_operations_owner", up: "ALTER TABLE env_operations ADD COLUMN owner TEXT NOT NULL DEFAULT 'local'" },
  { id: 4, name: "env_operations_owner_index", up: "CREATE INDEX env_operations_owner ON env_operations (owner, env_key, started_at)" },
];

export type Operation = "create" | "delete" | "add" | "remove" | "sync" | "run" | "cleanup";

export interface AuditRow {
  id: string;
  /** Whose env the operation touched (the actor may be an admin or the cleanup task). */
  owner: string;
  env_key: string;
  operation: Operation;
  arguments: Record<string, unknown>;
  outcome: "started" | "succeeded" | "failed";
  error_code: string | null;
  duration_ms: number | null;
  actor: string;
  started_at: string;
  ended_at: string | null;
}

export interface AuditFilter {
  /** Only this owner's rows; undefined: every owner's (admins). */
  owner?: string;
  envKey?: string;
  limit?: number;
}

export class AuditStore {
  constructor(private readonly db: Database) {}

  /** Records the start of an operation; throws 500 DB_AUDIT_ERROR if the database cannot take it. */
  async begin(owner: string, envKey: string, operation: Operation, args: Record<string, unknown>, actor: string): Promise<{ id: string; startedAt: number }> {
    const id = crypto.randomUUID();
    const startedAt = Date.now();
    try {
      await this.db.sql`INSERT INTO env_operations (id, owner, env_key, operation, arguments, outcome, actor, started_at)
        VALUES (${id}, ${owner}, ${envKey}, ${operation}, ${JSON.stringify(args)}, ${"started"}, ${actor}, ${new Date(startedAt).toISOString()})`;
    } catch (err) {
      throw errors.DB_AUDIT_ERROR(`the audit database refused the ${operation} record: ${(err as Error).message}`, { operation, env_key: envKey });
    }
    return { id, startedAt };
  }

  async finish(id: string, startedAt: number, errorCode: string | null): Promise<void> {
    const now = Date.now();
    await this.db.sql`UPDATE env_operations
      SET outcome = ${errorCode ? "failed" : "succeeded"}, error_code = ${errorCode}, duration_ms = ${now - startedAt},
          ended_at = ${new Date(now).toISOString()}
      WHERE id = ${id}`;
  }

  async list(filter: AuditFilter = {}): Promise<AuditRow[]> {
    const limit = filter.limit ?? 100;
    const { owner, envKey } = filter;
    const sql = this.db.sql;
    // Each filter is a fragment of the one query; an absent one matches every row.
    const everyRow = sql`1 = 1`;
    const byOwner = owner !== undefined ? sql`owner = ${owner}` : everyRow;
    const byEnv = envKey !== undefined ? sql`env_key = ${envKey}` : everyRow;
    const rows = await sql`SELECT * FROM env_operations WHERE ${byOwner} AND ${byEnv} ORDER BY started_at DESC, id LIMIT ${limit}`;
    return rows.map((r: Record<string, unknown>) => ({
      ...(r as unknown as AuditRow),
      arguments: JSON.parse(String(r.arguments)),
      duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
    }));
  }
}
