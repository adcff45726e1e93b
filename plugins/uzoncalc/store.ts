// Durable sessions: params and the inputs given so far (enough to replay a deterministic sheet), plus the last view.
import type { Database, Migration } from "bunker/core";
import type { CalcWindow } from "./calc";
import type { SessionStatus } from "./schema";

export const migrations: Migration[] = [
  {
    id: 1,
    name: "sessions",
    up: async (sql) => {
      await sql.unsafe(`CREATE TABLE uzoncalc_sessions (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        file_path TEXT NOT NULL,
        func_name TEXT NOT NULL,
        params TEXT NOT NULL,
        inputs TEXT NOT NULL,
        status TEXT NOT NULL,
        ui TEXT,
        html TEXT NOT NULL,
        result TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`);
      await sql.unsafe("CREATE INDEX uzoncalc_sessions_status ON uzoncalc_sessions (status, updated_at)");
    },
  },
  {
    // Session ids are chosen by users, so they are unique per owner only: alice's "s1" and bob's "s1" are two
    // sessions. Neither database can change a primary key in place: copy into a new table and swap it in.
    id: 2,
    name: "sessions keyed by owner and id",
    up: async (sql) => {
      await sql.unsafe(`CREATE TABLE uzoncalc_sessions_by_owner (
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        file_path TEXT NOT NULL,
        func_name TEXT NOT NULL,
        params TEXT NOT NULL,
        inputs TEXT NOT NULL,
        status TEXT NOT NULL,
        ui TEXT,
        html TEXT NOT NULL,
        result TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (owner, id)
      )`);
      const columns = "owner, id, file_path, func_name, params, inputs, status, ui, html, result, error, created_at, updated_at";
      await sql.unsafe(`INSERT INTO uzoncalc_sessions_by_owner (${columns}) SELECT ${columns} FROM uzoncalc_sessions`);
      await sql.unsafe("DROP TABLE uzoncalc_sessions");
      await sql.unsafe("ALTER TABLE uzoncalc_sessions_by_owner RENAME TO uzoncalc_sessions");
      await sql.unsafe("CREATE INDEX uzoncalc_sessions_status ON uzoncalc_sessions (status, updated_at)");
    },
  },
];

/** How a session is known inside the server and its executors: user-chosen ids are unique per owner only. */
export const sessionKey = (owner: string, id: string) => `${owner}/${id}`;

export interface SessionRecord {
  id: string;
  owner: string;
  filePath: string;
  funcName: string;
  params: Record<string, unknown>;
  inputs: unknown[];
  status: SessionStatus;
  ui: CalcWindow | null;
  html: string;
  result: unknown;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

type Row = Record<string, string | null>;

function parse<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined) return fallback;
  return JSON.parse(text) as T;
}

function fromRow(r: Row): SessionRecord {
  return {
    id: r.id!,
    owner: r.owner!,
    filePath: r.file_path!,
    funcName: r.func_name!,
    params: parse(r.params, {}),
    inputs: parse(r.inputs, []),
    status: r.status as SessionStatus,
    ui: parse<CalcWindow | null>(r.ui, null),
    html: r.html ?? "",
    result: parse<unknown>(r.result, undefined),
    error: r.error ?? null,
    createdAt: r.created_at!,
    updatedAt: r.updated_at!,
  };
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export class SessionStore {
  constructor(private readonly db: Database) {}

  async insert(s: SessionRecord): Promise<void> {
    await this.db.sql`INSERT INTO uzoncalc_sessions
      (id, owner, file_path, func_name, params, inputs, status, ui, html, result, error, created_at, updated_at)
      VALUES (${s.id}, ${s.owner}, ${s.filePath}, ${s.funcName}, ${JSON.stringify(s.params)}, ${JSON.stringify(s.inputs)},
              ${s.status}, ${json(s.ui ?? undefined)}, ${s.html}, ${json(s.result)}, ${s.error}, ${s.createdAt}, ${s.updatedAt})`;
  }

  /** Saves the state after a step (inputs, status, window, report). */
  async update(s: SessionRecord): Promise<void> {
    await this.db.sql`UPDATE uzoncalc_sessions SET inputs = ${JSON.stringify(s.inputs)}, status = ${s.status},
      ui = ${json(s.ui ?? undefined)}, html = ${s.html}, result = ${json(s.result)}, error = ${s.error}, updated_at = ${s.updatedAt}
      WHERE owner = ${s.owner} AND id = ${s.id}`;
  }

  async get(owner: string, id: string): Promise<SessionRecord | null> {
    const [row] = await this.db.sql`SELECT * FROM uzoncalc_sessions WHERE owner = ${owner} AND id = ${id}`;
    return row ? fromRow(row as Row) : null;
  }

  async exists(owner: string, id: string): Promise<boolean> {
    const [row] = await this.db.sql`SELECT id FROM uzoncalc_sessions WHERE owner = ${owner} AND id = ${id}`;
    return !!row;
  }

  /** Waiting sessions idle since before `cutoff` (ISO) that are not in memory (`except`: their session keys) are
   * closed without a generator to run. */
  async expireWaiting(cutoff: string, except: Set<string>, now: string, message: string): Promise<number> {
    const rows = (await this.db.sql`SELECT owner, id FROM uzoncalc_sessions
      WHERE status = ${"waiting_input"} AND updated_at < ${cutoff}`) as Array<{ owner: string; id: string }>;
    let n = 0;
    for (const { owner, id } of rows) {
      if (except.has(sessionKey(owner, id))) continue;
      await this.db.sql`UPDATE uzoncalc_sessions SET status = ${"cancelled"}, ui = ${null}, error = ${message}, updated_at = ${now}
        WHERE owner = ${owner} AND id = ${id} AND status = ${"waiting_input"}`;
      n++;
    }
    return n;
  }

  /** Removes finished sessions older than `cutoff`. */
  async pruneFinished(cutoff: string): Promise<void> {
    await this.db.sql`DELETE FROM uzoncalc_sessions
      WHERE status IN (${"completed"}, ${"error"}, ${"cancelled"}) AND updated_at < ${cutoff}`;
  }
}
