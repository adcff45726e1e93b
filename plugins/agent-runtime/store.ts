// SQL for agent templates (one row per deployed agent, latest version) and sessions (one sandbox each).
import type { Database, Migration } from "bunker/core";
import type { AgentConfig } from "bunker/agent-config";
import type { SessionStatus } from "./schema";

export const migrations: Migration[] = [
  {
    id: 1,
    name: "agent templates and sessions",
    up: async (sql) => {
      await sql`CREATE TABLE agent_templates (
        template_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        template_version INTEGER NOT NULL,
        description TEXT,
        author TEXT,
        tags TEXT NOT NULL,
        config TEXT NOT NULL,
        phase TEXT NOT NULL,
        build_id TEXT NOT NULL,
        error TEXT,
        size INTEGER,
        build_time REAL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`;
      await sql`CREATE TABLE agent_sessions (
        session_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        template_id TEXT NOT NULL,
        status TEXT NOT NULL,
        timeout_seconds INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        last_activity TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        error TEXT
      )`;
      await sql`CREATE INDEX agent_sessions_owner ON agent_sessions (owner, status)`;
    },
  },
];

export interface TemplateRow {
  template_id: string;
  owner: string;
  name: string;
  version: string;
  template_version: number;
  description: string | null;
  author: string | null;
  tags: string[];
  config: AgentConfig;
  phase: string;
  build_id: string;
  error: string | null;
  size: number | null;
  build_time: number | null;
  created_at: string;
  updated_at: string;
}

export interface SessionRow {
  session_id: string;
  owner: string;
  template_id: string;
  status: SessionStatus;
  timeout_seconds: number;
  created_at: string;
  last_activity: string;
  expires_at: string;
  error: string | null;
}

const toTemplate = (r: Record<string, unknown>): TemplateRow => ({
  ...(r as unknown as TemplateRow),
  template_version: Number(r.template_version),
  tags: JSON.parse(String(r.tags)) as string[],
  config: JSON.parse(String(r.config)) as AgentConfig,
  size: r.size === null ? null : Number(r.size),
  build_time: r.build_time === null ? null : Number(r.build_time),
});
const toSession = (r: Record<string, unknown>): SessionRow => ({ ...(r as unknown as SessionRow), timeout_seconds: Number(r.timeout_seconds) });

export function createStore(db: Database) {
  const sql = db.sql;
  return {
    async getTemplate(id: string): Promise<TemplateRow | undefined> {
      const [row] = await sql`SELECT * FROM agent_templates WHERE template_id = ${id}`;
      return row ? toTemplate(row) : undefined;
    },
    async listTemplates(owner: string): Promise<TemplateRow[]> {
      const rows = await sql`SELECT * FROM agent_templates WHERE owner = ${owner} ORDER BY name`;
      return rows.map(toTemplate);
    },
    async saveTemplate(row: TemplateRow): Promise<void> {
      const tags = JSON.stringify(row.tags);
      const config = JSON.stringify(row.config);
      await sql`INSERT INTO agent_templates (template_id, owner, name, version, template_version, description, author, tags, config,
          phase, build_id, error, size, build_time, created_at, updated_at)
        VALUES (${row.template_id}, ${row.owner}, ${row.name}, ${row.version}, ${row.template_version}, ${row.description}, ${row.author},
          ${tags}, ${config}, ${row.phase}, ${row.build_id}, ${row.error}, ${row.size}, ${row.build_time}, ${row.created_at}, ${row.updated_at})
        ON CONFLICT (template_id) DO UPDATE SET name = excluded.name, version = excluded.version,
          template_version = excluded.template_version, description = excluded.description, author = excluded.author,
          tags = excluded.tags, config = excluded.config, phase = excluded.phase, build_id = excluded.build_id,
          error = excluded.error, size = excluded.size, build_time = excluded.build_time, updated_at = excluded.updated_at`;
    },
    async getSession(id: string): Promise<SessionRow | undefined> {
      const [row] = await sql`SELECT * FROM agent_sessions WHERE session_id = ${id}`;
      return row ? toSession(row) : undefined;
    },
    async listSessions(owner: string): Promise<SessionRow[]> {
      const rows = await sql`SELECT * FROM agent_sessions WHERE owner = ${owner} AND status <> 'closed' ORDER BY created_at`;
      return rows.map(toSession);
    },
    async insertSession(row: SessionRow): Promise<void> {
      await sql`INSERT INTO agent_sessions (session_id, owner, template_id, status, timeout_seconds, created_at, last_activity, expires_at, error)
        VALUES (${row.session_id}, ${row.owner}, ${row.template_id}, ${row.status}, ${row.timeout_seconds}, ${row.created_at},
          ${row.last_activity}, ${row.expires_at}, ${row.error})`;
    },
    async updateSession(id: string, patch: Partial<Pick<SessionRow, "status" | "last_activity" | "expires_at" | "error" | "timeout_seconds">>): Promise<void> {
      const current = await this.getSession(id);
      if (!current) return;
      const next = { ...current, ...patch };
      await sql`UPDATE agent_sessions SET status = ${next.status}, last_activity = ${next.last_activity}, expires_at = ${next.expires_at},
        error = ${next.error}, timeout_seconds = ${next.timeout_seconds} WHERE session_id = ${id}`;
    },
    /** Open sessions idle since before `idleBefore` or expired before `now`. */
    async staleSessions(idleBefore: string, now: string): Promise<SessionRow[]> {
      const rows = await sql`SELECT * FROM agent_sessions WHERE status IN ('active', 'paused', 'inactive', 'error')
        AND (last_activity < ${idleBefore} OR expires_at < ${now})`;
      return rows.map(toSession);
    },
    async openSessions(): Promise<SessionRow[]> {
      const rows = await sql`SELECT * FROM agent_sessions WHERE status <> 'closed'`;
      return rows.map(toSession);
    },
  };
}

export type AgentStore = ReturnType<typeof createStore>;
