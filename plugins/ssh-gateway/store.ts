// Users' SSH public keys in the core database (SQL that runs on SQLite and PostgreSQL).
import type { Database, Migration } from "bunker/core";

export const migrations: Migration[] = [
  {
    id: 1,
    name: "ssh public keys",
    up: async (sql) => {
      await sql.unsafe(`CREATE TABLE ssh_gateway_keys (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, key_type TEXT NOT NULL,
        fingerprint TEXT NOT NULL, public_key TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (owner, fingerprint))`);
      await sql.unsafe(`CREATE INDEX ssh_gateway_keys_fingerprint ON ssh_gateway_keys (fingerprint)`);
    },
  },
];

export interface KeyRow {
  id: string;
  owner: string;
  name: string;
  type: string;
  fingerprint: string;
  publicKey: string;
  createdAt: string;
}

type Raw = Record<string, unknown>;
const row = (r: Raw): KeyRow => ({
  id: String(r.id), owner: String(r.owner), name: String(r.name), type: String(r.key_type),
  fingerprint: String(r.fingerprint), publicKey: String(r.public_key), createdAt: String(r.created_at),
});

export function createKeyStore(db: Database) {
  const sql = db.sql;
  return {
    async insert(k: KeyRow): Promise<void> {
      await sql`INSERT INTO ssh_gateway_keys (id, owner, name, key_type, fingerprint, public_key, created_at)
        VALUES (${k.id}, ${k.owner}, ${k.name}, ${k.type}, ${k.fingerprint}, ${k.publicKey}, ${k.createdAt})`;
    },
    async byOwner(owner: string): Promise<KeyRow[]> {
      const rows: Raw[] = await sql`SELECT * FROM ssh_gateway_keys WHERE owner = ${owner} ORDER BY created_at, id`;
      return rows.map(row);
    },
    async byFingerprint(fingerprint: string): Promise<KeyRow[]> {
      const rows: Raw[] = await sql`SELECT * FROM ssh_gateway_keys WHERE fingerprint = ${fingerprint}`;
      return rows.map(row);
    },
    async ownerHas(owner: string, fingerprint: string): Promise<boolean> {
      const rows: Raw[] = await sql`SELECT id FROM ssh_gateway_keys WHERE owner = ${owner} AND fingerprint = ${fingerprint}`;
      return rows.length > 0;
    },
    /** Whether a key with this id belonged to the owner (and is now gone). */
    async remove(id: string, owner: string): Promise<boolean> {
      const rows: Raw[] = await sql`DELETE FROM ssh_gateway_keys WHERE id = ${id} AND owner = ${owner} RETURNING id`;
      return rows.length > 0;
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;
