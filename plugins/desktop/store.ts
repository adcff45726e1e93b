// The desktops table: who owns what, how it was configured, when it ends. Live processes stay in the service.
import type { Database, Migration } from "bunker/core";

export const migrations: Migration[] = [
  {
    id: 1,
    name: "desktops",
    up: `CREATE TABLE desktop_desktops (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      backend TEXT NOT NULL,
      config TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      destroyed_at TEXT,
      destroy_reason TEXT
    )`,
  },
];

export interface DesktopRow {
  id: string;
  owner: string;
  backend: string;
  config: string;
  created_at: string;
  expires_at: string;
  destroyed_at: string | null;
  destroy_reason: string | null;
}

export class DesktopStore {
  constructor(private readonly db: Database) {}

  async insert(row: Omit<DesktopRow, "destroyed_at" | "destroy_reason">) {
    await this.db.sql`INSERT INTO desktop_desktops (id, owner, backend, config, created_at, expires_at)
      VALUES (${row.id}, ${row.owner}, ${row.backend}, ${row.config}, ${row.created_at}, ${row.expires_at})`;
  }

  async markDestroyed(id: string, reason: string) {
    await this.db.sql`UPDATE desktop_desktops SET destroyed_at = ${new Date().toISOString()}, destroy_reason = ${reason}
      WHERE id = ${id} AND destroyed_at IS NULL`;
  }

  /** Desktops whose processes died with a previous server run. */
  async markAllDestroyed(reason: string): Promise<number> {
    const rows = await this.db.sql`UPDATE desktop_desktops SET destroyed_at = ${new Date().toISOString()}, destroy_reason = ${reason}
      WHERE destroyed_at IS NULL RETURNING id`;
    return rows.length;
  }
}
