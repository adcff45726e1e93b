// The env_operations audit table: a row is written before every side effect and completed after it.
import { BunkerError, type Database, type Migration } from "bunker/core";

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
];

export type Operation = "create" | "delete" | "add" | "remove" | "sync" | "run" | "cleanup";

export interface AuditRow {
  id: string;
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

export class AuditStore {
  constructor(private readonly db: Database) {}

  /** Records the start of an operation; throws 500 DB_AUDIT_ERROR if the database cannot take it. */
  async begin(envKey: string, operation: Operation, args: Record<string, unknown>, actor: string): Promise<{ id: string; startedAt: number }> {
    const id = crypto.randomUUID();
    const startedAt = Date.now();
    try {
      await this.db.sql`INSERT INTO env_operations (id, env_key, operation, arguments, outcome, actor, started_at)
        VALUES (${id}, ${envKey}, ${operation}, ${JSON.stringify(args)}, ${"started"}, ${actor}, ${new Date(startedAt).toISOString()})`;
    } catch (err) {
      throw new BunkerError(500, "DB_AUDIT_ERROR", `the audit database refused the ${operation} record: ${(err as Error).message}`, {
        operation,
        env_key: envKey,
      });
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

  async list(filter: { envKey?: string; limit?: number } = {}): Promise<AuditRow[]> {
    const limit = filter.limit ?? 100;
    const rows = filter.envKey
      ? await this.db.sql`SELECT * FROM env_operations WHERE env_key = ${filter.envKey} ORDER BY started_at DESC, id LIMIT ${limit}`
      : await this.db.sql`SELECT * FROM env_operations ORDER BY started_at DESC, id LIMIT ${limit}`;
    return rows.map((r: Record<string, unknown>) => ({
      ...(r as unknown as AuditRow),
      arguments: JSON.parse(String(r.arguments)),
      duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
    }));
  }
}
