// The gateway's ed25519 host key: generated once into the data directory (mode 0600) and reused, so clients never
// see a changed host key after a restart.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { utils } from "ssh2";
import { fingerprintOf } from "./keys";

export interface HostKey {
  /** OpenSSH private key text (what ssh2's Server takes). */
  privateKey: string;
  type: string;
  fingerprint: string;
  /** "ssh-ed25519 AAAA…", the line for a known_hosts file. */
  publicKey: string;
}

export const HOST_KEY_FILE = "ssh_host_ed25519_key";

export function loadOrCreateHostKey(dataDir: string): HostKey {
  const path = join(dataDir, HOST_KEY_FILE);
  if (!existsSync(path)) {
    const pair = utils.generateKeyPairSync("ed25519", { comment: "bunker-ssh-gateway" });
    // "wx": never overwrite a key another process wrote in the meantime.
    try {
      writeFileSync(path, pair.private, { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const privateKey = readFileSync(path, "utf8");
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`host key ${path} is unreadable: ${key instanceof Error ? key.message : "empty"}`);
  const blob = key.getPublicSSH();
  return { privateKey, type: key.type, fingerprint: fingerprintOf(blob), publicKey: `${key.type} ${blob.toString("base64")}` };
}
