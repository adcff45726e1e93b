// The server's Bun binary as a path every sandbox uid can read: npx leaves Bun in /root/.npm/_npx/…, the official
// installer in ~/.bun/bin, both under a home that is 0700 and masked in sandboxes. A hard link (or, across
// filesystems, a copy) in a world-searchable directory is bound read-only at SANDBOX_BUN inside each sandbox.
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Returns a root-owned, world-readable path holding the same file as `binary` (created once per binary version). */
export function stageBunBinary(binary = process.execPath, baseDir = join(tmpdir(), "bunker-bun")): string {
  const st = statSync(binary);
  // Keyed by identity and size: a Bun upgrade in place gets a new entry instead of reusing a stale copy.
  const dir = join(baseDir, `${st.dev}-${st.ino}-${st.size}-${Math.trunc(st.mtimeMs)}`);
  const target = join(dir, "bun");
  if (existsSync(target) && statSync(target).size === st.size) return target;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(baseDir, 0o755);
  chmodSync(dir, 0o755);
  const staging = join(dir, `.bun-${process.pid}-${crypto.randomUUID()}`);
  try {
    try {
      linkSync(binary, staging);
    } catch {
      copyFileSync(binary, staging);
      chmodSync(staging, 0o755);
    }
    // Atomic: a concurrent server starting at the same moment sees either nothing or the whole binary.
    renameSync(staging, target);
  } finally {
    rmSync(staging, { force: true });
  }
  if ((statSync(target).mode & 0o005) !== 0o005) chmodSync(target, 0o755);
  return target;
}
