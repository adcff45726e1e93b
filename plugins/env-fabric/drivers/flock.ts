// Per-env file locks with flock(2): held by an open file description, so they work across server processes and
// within one, and the kernel drops them when the holder dies (no stale lock files to break).
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

const libc = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
});

export interface HeldLock {
  release(): void;
}

const tryFlock = (fd: number, shared: boolean) => libc.symbols.flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) === 0;

export interface LockOptions {
  shared?: boolean;
  waitMs?: number;
  /** Called once when the lock is taken by someone else and the caller is going to wait for it. */
  onWait?: () => void;
}

/**
 * Takes the lock at `path` (created if missing). Returns null when another holder has it and `waitMs` ran out.
 * Shared locks (runs) coexist with each other; an exclusive lock (mutations) excludes everything.
 */
export async function acquireFileLock(path: string, options: LockOptions = {}): Promise<HeldLock | null> {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a+");
  const deadline = Date.now() + (options.waitMs ?? 0);
  let delay = 10;
  let waiting = false;
  for (;;) {
    if (tryFlock(fd, options.shared ?? false)) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          libc.symbols.flock(fd, LOCK_UN);
          closeSync(fd);
        },
      };
    }
    if (Date.now() >= deadline) {
      closeSync(fd);
      return null;
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    // flock(2) has no "wait until free" with a deadline, and a blocking call would stall the event loop: retry, backing off.
    await Bun.sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(delay * 2, 200);
  }
}
