// Public keys of Bunker users: parse and fingerprint OpenSSH key lines, keep them per owner, match a presented key.
import { createHash } from "node:crypto";
import { utils } from "ssh2";
import { errors } from "./errors";
import type { SshKeyWire } from "./schema";
import type { KeyRow, KeyStore } from "./store";

const MAX_KEYS_PER_USER = 100;

/** OpenSSH's fingerprint of a public key blob: "SHA256:" + unpadded base64 of its SHA-256. */
export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

export interface ParsedPublicKey {
  type: string;
  blob: Buffer;
  fingerprint: string;
  /** Normalised "type base64" (comment dropped). */
  line: string;
  comment: string;
}

export function parsePublicKey(text: string): ParsedPublicKey {
  const trimmed = text.trim();
  if (trimmed.includes("PRIVATE KEY")) throw errors.PRIVATE_KEY_SENT("that is a private key: send the public key (the .pub file)");
  if (/[\r\n]/.test(trimmed)) throw errors.INVALID_PUBLIC_KEY("send exactly one public key line");
  const parsed = utils.parseKey(trimmed);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw errors.INVALID_PUBLIC_KEY(`not an OpenSSH public key: ${key instanceof Error ? key.message : "unreadable"}`);
  }
  if (key.isPrivateKey()) throw errors.PRIVATE_KEY_SENT("that is a private key: send the public key (the .pub file)");
  const blob = key.getPublicSSH();
  return {
    type: key.type,
    blob,
    fingerprint: fingerprintOf(blob),
    line: `${key.type} ${blob.toString("base64")}`,
    comment: trimmed.split(/\s+/).slice(2).join(" "),
  };
}

const wire = (k: KeyRow): SshKeyWire => ({ id: k.id, name: k.name, type: k.type, fingerprint: k.fingerprint, publicKey: k.publicKey, createdAt: k.createdAt });

export function createKeyService(store: KeyStore) {
  return {
    async add(owner: string, publicKey: string, name?: string): Promise<SshKeyWire> {
      const key = parsePublicKey(publicKey);
      if (await store.ownerHas(owner, key.fingerprint)) {
        throw errors.KEY_EXISTS(`this key (${key.fingerprint}) is already registered`, { fingerprint: key.fingerprint });
      }
      if ((await store.byOwner(owner)).length >= MAX_KEYS_PER_USER) {
        throw errors.TOO_MANY_KEYS(`at most ${MAX_KEYS_PER_USER} keys per user: remove one first`);
      }
      const row: KeyRow = {
        id: `key-${crypto.randomUUID().slice(0, 12)}`, owner, name: name ?? (key.comment || key.type), type: key.type,
        fingerprint: key.fingerprint, publicKey: key.line, createdAt: new Date().toISOString(),
      };
      await store.insert(row);
      return wire(row);
    },
    async list(owner: string): Promise<SshKeyWire[]> {
      return (await store.byOwner(owner)).map(wire);
    },
    async remove(owner: string, id: string): Promise<void> {
      if (!(await store.remove(id, owner))) throw errors.KEY_NOT_FOUND(`key ${id} not found`, { id });
    },
    /** The users who registered exactly this key blob (usually one). */
    async ownersOf(blob: Uint8Array): Promise<string[]> {
      const rows = await store.byFingerprint(fingerprintOf(blob));
      const b64 = Buffer.from(blob).toString("base64");
      return rows.filter((r) => r.publicKey.split(" ")[1] === b64).map((r) => r.owner);
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
