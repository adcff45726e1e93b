// Housekeeping that only liteboxd's index.ts calls: the TTL cleaner's round, recovery after a restart, shutdown.
import type { SandboxLifecycle } from "./sandbox-lifecycle";
import type { SandboxState } from "./sandbox-state";

export interface SandboxMaintenance {
  /** Deletes expired sandboxes and retries unfinished deletions (the cleaner's round); the number expired. */
  sweep(): Promise<number>;
  /** On boot: sandboxes of a previous run have no process any more; marks them and cleans their storage up. */
  recoverAfterRestart(): Promise<number>;
  /** Stops every sandbox at shutdown (their rows are cleaned up on the next boot). */
  stopAll(): Promise<void>;
}

export function createSandboxCleaner(state: SandboxState, lifecycle: SandboxLifecycle): SandboxMaintenance {
  const { options: o, live } = state;
  return {
    async sweep() {
      let expired = 0;
      const nowIso = new Date().toISOString();
      for (const row of await o.store.sandboxes()) {
        const current = live.get(row.id);
        if (row.status === "terminating") {
          if (current?.deleting) continue;
          if (current) void lifecycle.beginDelete(current.row, current.row.statusReason ?? "retrying deletion");
          else void lifecycle.finishDelete(row.id, undefined, row.owner);
          continue;
        }
        if (row.ttl > 0 && row.expiresAt <= nowIso) {
          await lifecycle.beginDelete(current?.row ?? row, "TTL expired");
          expired++;
        }
      }
      return expired;
    },
    async recoverAfterRestart() {
      let leftOver = 0;
      for (const row of await o.store.sandboxes()) {
        if (live.has(row.id)) continue;
        await lifecycle.beginDelete(row, "left over from a previous server run");
        leftOver++;
      }
      return leftOver;
    },
    async stopAll() {
      await Promise.all([...live.values()].map((s) => s.deleting ?? s.runtime.stop().catch(() => undefined)));
    },
  };
}
