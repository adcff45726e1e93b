// Templates, versions, sandboxes and prepull tasks in the core database (SQL that runs on SQLite and PostgreSQL).
import type { Database, Migration } from "bunker/core";
import type { TemplateSpec } from "./schema";

export const migrations: Migration[] = [
  {
    id: 1,
    name: "liteboxd tables",
    up: async (sql) => {
      await sql.unsafe(`CREATE TABLE liteboxd_templates (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, display_name TEXT, description TEXT, tags TEXT NOT NULL,
        author TEXT, is_public INTEGER NOT NULL, latest_version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
      await sql.unsafe(`CREATE TABLE liteboxd_template_versions (
        id TEXT PRIMARY KEY, template_id TEXT NOT NULL, version INTEGER NOT NULL, spec TEXT NOT NULL, changelog TEXT,
        created_by TEXT, created_at TEXT NOT NULL, UNIQUE (template_id, version))`);
      await sql.unsafe(`CREATE TABLE liteboxd_sandboxes (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, template TEXT, template_version INTEGER, image TEXT NOT NULL,
        cpu TEXT NOT NULL, memory TEXT NOT NULL, ttl INTEGER NOT NULL, env TEXT NOT NULL, status TEXT NOT NULL,
        status_reason TEXT, desired_state TEXT NOT NULL, access_token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
      await sql.unsafe(`CREATE TABLE liteboxd_prepulls (
        id TEXT PRIMARY KEY, image TEXT NOT NULL, status TEXT NOT NULL, template TEXT, error TEXT,
        ready INTEGER NOT NULL, total INTEGER NOT NULL, started_at TEXT NOT NULL, completed_at TEXT)`);
    },
  },
  {
    id: 2,
    name: "liteboxd owners of templates and prepull tasks",
    up: async (sql) => {
      // Rows from before owners existed belong to the open-mode user, except templates whose author (always the
      // creating user's id, never client-supplied) is known: they stay with that user, so agent templates stay
      // changeable by the agent's deployer.
      await sql.unsafe(`ALTER TABLE liteboxd_templates ADD COLUMN owner TEXT NOT NULL DEFAULT 'local'`);
      await sql.unsafe(`UPDATE liteboxd_templates SET owner = author WHERE author IS NOT NULL AND author <> ''`);
      await sql.unsafe(`ALTER TABLE liteboxd_prepulls ADD COLUMN owner TEXT NOT NULL DEFAULT 'local'`);
    },
  },
];

export interface TemplateRow {
  id: string;
  name: string;
  displayName: string | null;
  description: string | null;
  tags: string[];
  author: string | null;
  /** The user the template (and each of its versions) belongs to: its creator. */
  owner: string;
  isPublic: boolean;
  latestVersion: number;
  createdAt: string;
  updatedAt: string;
}

export interface VersionRow {
  id: string;
  templateId: string;
  version: number;
  spec: TemplateSpec;
  changelog: string | null;
  createdBy: string | null;
  createdAt: string;
}

export interface SandboxRow {
  id: string;
  owner: string;
  template: string | null;
  templateVersion: number | null;
  image: string;
  cpu: string;
  memory: string;
  ttl: number;
  env: Record<string, string>;
  status: string;
  statusReason: string | null;
  desiredState: string;
  accessTokenHash: string;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
}

/** Which templates a listing or an export covers. */
export interface TemplateFilter {
  /** Only the public ones and this user's own; undefined: every template (an admin's view). */
  viewer?: string;
  /** Only those carrying this tag (exactly). */
  tag?: string;
  /** Only those whose name, displayName or description contains this (case-insensitively). */
  search?: string;
  /** Only those of these names. */
  names?: string[];
}

/** A template with the spec of its latest version, from one joined query. */
export interface TemplateWithSpec {
  template: TemplateRow;
  spec: TemplateSpec;
}

export interface PrepullRow {
  id: string;
  /** Who started the task; the cached image itself is shared. */
  owner: string;
  image: string;
  status: string;
  template: string | null;
  error: string | null;
  ready: number;
  total: number;
  startedAt: string;
  completedAt: string | null;
}

type Raw = Record<string, unknown>;
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

const toTemplate = (r: Raw): TemplateRow => ({
  id: String(r.id), name: String(r.name), displayName: str(r.display_name), description: str(r.description),
  tags: JSON.parse(String(r.tags)), author: str(r.author), owner: String(r.owner), isPublic: Number(r.is_public) === 1,
  latestVersion: Number(r.latest_version), createdAt: String(r.created_at), updatedAt: String(r.updated_at),
});
const toVersion = (r: Raw): VersionRow => ({
  id: String(r.id), templateId: String(r.template_id), version: Number(r.version), spec: JSON.parse(String(r.spec)),
  changelog: str(r.changelog), createdBy: str(r.created_by), createdAt: String(r.created_at),
});
const toSandbox = (r: Raw): SandboxRow => ({
  id: String(r.id), owner: String(r.owner), template: str(r.template),
  templateVersion: r.template_version === null ? null : Number(r.template_version), image: String(r.image),
  cpu: String(r.cpu), memory: String(r.memory), ttl: Number(r.ttl), env: JSON.parse(String(r.env)),
  status: String(r.status), statusReason: str(r.status_reason), desiredState: String(r.desired_state),
  accessTokenHash: String(r.access_token_hash), createdAt: String(r.created_at), expiresAt: String(r.expires_at),
  updatedAt: String(r.updated_at),
});
const toPrepull = (r: Raw): PrepullRow => ({
  id: String(r.id), owner: String(r.owner), image: String(r.image), status: String(r.status), template: str(r.template), error: str(r.error),
  ready: Number(r.ready), total: Number(r.total), startedAt: String(r.started_at), completedAt: str(r.completed_at),
});

/** LIKE's wildcards and its escape character ("!"), taken literally. */
const likeLiteral = (text: string) => text.replace(/[!%_]/g, (c) => `!${c}`);

export function createStore(db: Database) {
  const sql = db.sql;
  // Tags are stored as a JSON array of strings ('["a","b"]'): framed as ',"a","b",' a tag is present exactly when
  // ',"tag",' occurs (an unescaped quote only ever starts or ends an element). REPLACE is case-sensitive in SQLite and
  // PostgreSQL alike, where LIKE is not.
  const TAGS = sql`(',' || SUBSTR(t.tags, 2, LENGTH(t.tags) - 2) || ',')`;
  const where = (f: TemplateFilter) => {
    const search = f.search ? `%${likeLiteral(f.search)}%` : undefined;
    return sql`WHERE 1 = 1
      ${f.viewer === undefined ? sql`` : sql`AND (t.is_public = 1 OR t.owner = ${f.viewer})`}
      ${f.tag ? sql`AND REPLACE(${TAGS}, ${`,${JSON.stringify(f.tag)},`}, '') <> ${TAGS}` : sql``}
      ${search ? sql`AND (LOWER(t.name) LIKE LOWER(${search}) ESCAPE '!' OR LOWER(COALESCE(t.display_name, '')) LIKE LOWER(${search}) ESCAPE '!'
        OR LOWER(COALESCE(t.description, '')) LIKE LOWER(${search}) ESCAPE '!')` : sql``}
      ${f.names?.length ? sql`AND t.name IN ${sql(f.names)}` : sql``}`;
  };
  const LATEST = sql`JOIN liteboxd_template_versions v ON v.template_id = t.id AND v.version = t.latest_version`;
  const withSpec = (r: Raw): TemplateWithSpec => ({ template: toTemplate(r), spec: JSON.parse(String(r.latest_spec)) });
  return {
    async templateByName(name: string): Promise<TemplateRow | undefined> {
      const [r] = await sql`SELECT * FROM liteboxd_templates WHERE name = ${name}`;
      return r ? toTemplate(r) : undefined;
    },
    /** The templates the filter lets through, by name, each with its latest spec; `page` cuts one page out. */
    async templatesWithSpecs(filter: TemplateFilter, page?: { limit: number; offset: number }): Promise<TemplateWithSpec[]> {
      const rows = page
        ? await sql`SELECT t.*, v.spec AS latest_spec FROM liteboxd_templates t ${LATEST} ${where(filter)} ORDER BY t.name LIMIT ${page.limit} OFFSET ${page.offset}`
        : await sql`SELECT t.*, v.spec AS latest_spec FROM liteboxd_templates t ${LATEST} ${where(filter)} ORDER BY t.name`;
      return rows.map(withSpec);
    },
    async countTemplates(filter: TemplateFilter): Promise<number> {
      const [r] = await sql`SELECT COUNT(*) AS n FROM liteboxd_templates t ${where(filter)}`;
      return Number(r?.n ?? 0);
    },
    /** The total length (in characters, at most its bytes) of the latest specs the filter lets through, measured
     * without reading them. */
    async latestSpecsLength(filter: TemplateFilter): Promise<number> {
      const [r] = await sql`SELECT COALESCE(SUM(LENGTH(v.spec)), 0) AS n FROM liteboxd_templates t ${LATEST} ${where(filter)}`;
      return Number(r?.n ?? 0);
    },
    /** Inserts a template with its first version, atomically. */
    async insertTemplate(t: TemplateRow, v: VersionRow): Promise<void> {
      await db.transaction(async (tx) => {
        await tx`INSERT INTO liteboxd_templates (id, name, display_name, description, tags, author, owner, is_public, latest_version, created_at, updated_at)
          VALUES (${t.id}, ${t.name}, ${t.displayName}, ${t.description}, ${JSON.stringify(t.tags)}, ${t.author}, ${t.owner}, ${t.isPublic ? 1 : 0}, ${t.latestVersion}, ${t.createdAt}, ${t.updatedAt})`;
        await tx`INSERT INTO liteboxd_template_versions (id, template_id, version, spec, changelog, created_by, created_at)
          VALUES (${v.id}, ${v.templateId}, ${v.version}, ${JSON.stringify(v.spec)}, ${v.changelog}, ${v.createdBy}, ${v.createdAt})`;
      });
    },
    /** Adds a version and moves the template's metadata and latestVersion to it, atomically. */
    async addVersion(t: TemplateRow, v: VersionRow): Promise<void> {
      await db.transaction(async (tx) => {
        await tx`INSERT INTO liteboxd_template_versions (id, template_id, version, spec, changelog, created_by, created_at)
          VALUES (${v.id}, ${v.templateId}, ${v.version}, ${JSON.stringify(v.spec)}, ${v.changelog}, ${v.createdBy}, ${v.createdAt})`;
        await tx`UPDATE liteboxd_templates SET display_name = ${t.displayName}, description = ${t.description},
          tags = ${JSON.stringify(t.tags)}, is_public = ${t.isPublic ? 1 : 0}, latest_version = ${v.version}, updated_at = ${t.updatedAt}
          WHERE id = ${t.id}`;
      });
    },
    async deleteTemplate(id: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx`DELETE FROM liteboxd_template_versions WHERE template_id = ${id}`;
        await tx`DELETE FROM liteboxd_templates WHERE id = ${id}`;
      });
    },
    async versions(templateId: string): Promise<VersionRow[]> {
      return (await sql`SELECT * FROM liteboxd_template_versions WHERE template_id = ${templateId} ORDER BY version DESC`).map(toVersion);
    },
    async version(templateId: string, version: number): Promise<VersionRow | undefined> {
      const [r] = await sql`SELECT * FROM liteboxd_template_versions WHERE template_id = ${templateId} AND version = ${version}`;
      return r ? toVersion(r) : undefined;
    },

    async insertSandbox(s: SandboxRow): Promise<void> {
      await sql`INSERT INTO liteboxd_sandboxes (id, owner, template, template_version, image, cpu, memory, ttl, env, status,
        status_reason, desired_state, access_token_hash, created_at, expires_at, updated_at)
        VALUES (${s.id}, ${s.owner}, ${s.template}, ${s.templateVersion}, ${s.image}, ${s.cpu}, ${s.memory}, ${s.ttl},
        ${JSON.stringify(s.env)}, ${s.status}, ${s.statusReason}, ${s.desiredState}, ${s.accessTokenHash}, ${s.createdAt},
        ${s.expiresAt}, ${s.updatedAt})`;
    },
    async setSandboxStatus(id: string, status: string, reason: string | null, desiredState?: string): Promise<void> {
      const now = new Date().toISOString();
      if (desiredState) await sql`UPDATE liteboxd_sandboxes SET status = ${status}, status_reason = ${reason}, desired_state = ${desiredState}, updated_at = ${now} WHERE id = ${id}`;
      else await sql`UPDATE liteboxd_sandboxes SET status = ${status}, status_reason = ${reason}, updated_at = ${now} WHERE id = ${id}`;
    },
    async sandbox(id: string): Promise<SandboxRow | undefined> {
      const [r] = await sql`SELECT * FROM liteboxd_sandboxes WHERE id = ${id}`;
      return r ? toSandbox(r) : undefined;
    },
    async sandboxes(owner?: string): Promise<SandboxRow[]> {
      const rows = owner === undefined
        ? await sql`SELECT * FROM liteboxd_sandboxes ORDER BY created_at`
        : await sql`SELECT * FROM liteboxd_sandboxes WHERE owner = ${owner} ORDER BY created_at`;
      return rows.map(toSandbox);
    },
    async deleteSandbox(id: string): Promise<void> {
      await sql`DELETE FROM liteboxd_sandboxes WHERE id = ${id}`;
    },

    async insertPrepull(p: PrepullRow): Promise<void> {
      await sql`INSERT INTO liteboxd_prepulls (id, owner, image, status, template, error, ready, total, started_at, completed_at)
        VALUES (${p.id}, ${p.owner}, ${p.image}, ${p.status}, ${p.template}, ${p.error}, ${p.ready}, ${p.total}, ${p.startedAt}, ${p.completedAt})`;
    },
    async prepulls(): Promise<PrepullRow[]> {
      return (await sql`SELECT * FROM liteboxd_prepulls ORDER BY started_at DESC`).map(toPrepull);
    },
    async prepull(id: string): Promise<PrepullRow | undefined> {
      const [r] = await sql`SELECT * FROM liteboxd_prepulls WHERE id = ${id}`;
      return r ? toPrepull(r) : undefined;
    },
    async updatePrepull(p: Pick<PrepullRow, "id" | "status" | "error" | "ready" | "total" | "completedAt">): Promise<void> {
      await sql`UPDATE liteboxd_prepulls SET status = ${p.status}, error = ${p.error}, ready = ${p.ready}, total = ${p.total},
        completed_at = ${p.completedAt} WHERE id = ${p.id}`;
    },
    async deletePrepull(id: string): Promise<void> {
      await sql`DELETE FROM liteboxd_prepulls WHERE id = ${id}`;
    },
  };
}

export type Store = ReturnType<typeof createStore>;
