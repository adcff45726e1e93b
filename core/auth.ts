// API keys: random, shown once, stored as SHA-256 hashes; each key belongs to a user id.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Database, Migration } from "./db";
import { BunkerError } from "./errors";

export interface Principal {
  userId: string;
  /** null when the server runs open (loopback, no keys). */
  keyId: string | null;
  /** An admin key sees and manages every user's objects. */
  admin?: boolean;
}

/** What a user id may be: it names owners in the database and on disk (env-fabric's `@owner` directories). */
export const USER_ID_PATTERN = "^[A-Za-z0-9_.@-]{1,128}$";
const USER_ID = new RegExp(USER_ID_PATTERN);

/** Whose objects a listing shows: the caller's own; an admin's choice of one owner, or everyone's (owner undefined).
 * A user who asks for someone else's gets null: nothing is visible. */
export function ownerScope(principal: Principal, requested?: string): { owner?: string } | null {
  if (principal.admin) return { owner: requested };
  if (requested !== undefined && requested !== principal.userId) return null;
  return { owner: principal.userId };
}

export const sha256Hex = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

/** Whether `secret` hashes to `storedHex`, compared in constant time. */
export function hashMatches(secret: string, storedHex: string): boolean {
  const a = Buffer.from(sha256Hex(secret), "hex");
  const b = Buffer.from(storedHex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `principal` may see or change an object owned by `owner`: its owner, or an admin. */
export function canAccess(principal: Principal, owner: string): boolean {
  return principal.admin === true || principal.userId === owner;
}

export interface ApiKeyInfo {
  id: string;
  userId: string;
  name: string;
  /** "admin" keys see and manage every user's objects. */
  role: KeyRole;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export const OPEN_MODE_USER = "local";

export type KeyRole = "user" | "admin";

export const authMigrations: Migration[] = [
  {
    id: 1,
    name: "api keys",
    up: `CREATE TABLE IF NOT EXISTS bunker_api_keys (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      name TEXT NOT NULL,
      hash TEXT NOT NULL,
      created_at TEXT NOT NULL,
      revoked_at TEXT,
      last_used_at TEXT
    )`,
  },
  { id: 2, name: "api key roles", up: `ALTER TABLE bunker_api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'user'` },
];

const KEY_PATTERN = /^bk_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;


const principals = new WeakMap<Request, Principal>();

/** The authenticated caller of a request; plugins scope what they own by `userId`. Fails closed: a request the
 * auth hook never saw (a route mounted outside it, a request built by hand) is 401, never the open-mode user. */
export function principalOf(request: Request): Principal {
  const principal = principals.get(request);
  if (!principal) throw new BunkerError(401, "UNAUTHORIZED", "This request was not authenticated");
  return principal;
}
export function setPrincipal(request: Request, principal: Principal) {
  principals.set(request, principal);
}

export class ApiKeyStore {
  private activeCount = 0;
  constructor(private readonly db: Database) {}

  async refreshActiveCount(): Promise<number> {
    const [row] = await this.db.sql`SELECT COUNT(*) AS n FROM bunker_api_keys WHERE revoked_at IS NULL`;
    this.activeCount = Number(row?.n ?? 0);
    return this.activeCount;
  }

  hasActiveKeys(): boolean {
    return this.activeCount > 0;
  }

  async create(userId: string, name = "default", options: { role?: KeyRole } = {}): Promise<{ key: string; info: ApiKeyInfo }> {
    const role = options.role ?? "user";
    if (role !== "user" && role !== "admin") throw new Error(`key role "${role}" must be user or admin`);
    if (!USER_ID.test(userId)) throw new Error(`user id "${userId}" must be 1-128 letters, digits or _.@-`);
    const id = randomBytes(8).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const createdAt = new Date().toISOString();
    await this.db.sql`INSERT INTO bunker_api_keys (id, user_id, name, hash, created_at, role)
                      VALUES (${id}, ${userId}, ${name}, ${sha256Hex(secret)}, ${createdAt}, ${role})`;
    this.activeCount++;
    return { key: `bk_${id}_${secret}`, info: { id, userId, name, role, createdAt, revokedAt: null, lastUsedAt: null } };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.sql`SELECT id, user_id, name, role, created_at, revoked_at, last_used_at
                                   FROM bunker_api_keys ORDER BY created_at`;
    return rows.map((r: Record<string, string | null>) => ({
      id: r.id!, userId: r.user_id!, name: r.name!, role: (r.role === "admin" ? "admin" : "user") as KeyRole,
      createdAt: r.created_at!, revokedAt: r.revoked_at ?? null, lastUsedAt: r.last_used_at ?? null,
    }));
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.db.sql`UPDATE bunker_api_keys SET revoked_at = ${new Date().toISOString()}
                                   WHERE id = ${id} AND revoked_at IS NULL RETURNING id`;
    if (rows.length) this.activeCount = Math.max(0, this.activeCount - 1);
    return rows.length > 0;
  }

  /** Returns the principal for a presented key, or null; constant-time on the secret. */
  async verify(presented: string): Promise<Principal | null> {
    const m = KEY_PATTERN.exec(presented);
    if (!m) return null;
    const [, id, secret] = m as unknown as [string, string, string];
    const [row] = await this.db.sql`SELECT user_id, hash, revoked_at, role FROM bunker_api_keys WHERE id = ${id}`;
    if (!row || row.revoked_at) return null;
    if (!hashMatches(secret, String(row.hash))) return null;
    return row.role === "admin" ? { userId: String(row.user_id), keyId: id, admin: true } : { userId: String(row.user_id), keyId: id };
  }
}

export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1]! : null;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
