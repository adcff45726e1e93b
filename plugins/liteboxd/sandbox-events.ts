// What a sandbox tells its watchers: status changes (watch, and waitForReady built on it), its events and the main
// process's output for /logs.
import type { SandboxEventType, SandboxWatcher } from "./contract";
import { errors } from "./errors";
import type { LogsWire, SandboxWire } from "./schema";
import type { SandboxState } from "./sandbox-state";

export function createSandboxEvents(state: SandboxState) {
  function watch(watcher: SandboxWatcher): () => void {
    state.watchers.add(watcher);
    return () => void state.watchers.delete(watcher);
  }

  /** Settles on the first status event that decides it (or the current status); no polling. */
  function waitForReady(id: string, owner: string, timeoutMs = 300_000): Promise<SandboxWire> {
    return new Promise<SandboxWire>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        outcome();
      };
      const decide = async () => {
        try {
          const row = await state.owned(id, owner);
          if (row.status === "running") settle(() => resolve(state.wire(row)));
          else if (row.status !== "pending") {
            settle(() => reject(errors.SANDBOX_NOT_RUNNING(`sandbox ${id} is ${row.status}: ${row.statusReason ?? ""}`.trim())));
          }
        } catch (error) {
          settle(() => reject(error));
        }
      };
      // Subscribed before the first look, so a change between the two is not missed.
      const unsubscribe = watch((event) => void (event.id === id && decide()));
      const timer = setTimeout(() => settle(() => reject(errors.SANDBOX_NOT_READY(`sandbox ${id} not ready after ${timeoutMs} ms`))), timeoutMs);
      void decide();
    });
  }

  async function logs(id: string, owner: string, tail?: number): Promise<LogsWire> {
    await state.owned(id, owner);
    const sandbox = state.live.get(id);
    if (!sandbox) return { logs: "", events: [] };
    let lines = sandbox.runtime.logs().split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (tail !== undefined && tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail);
    return { logs: lines.length ? lines.join("\n") + "\n" : "", events: [...sandbox.events] };
  }

  function recordEvent(id: string, type: SandboxEventType, reason: string, message: string): void {
    const sandbox = state.live.get(id);
    if (sandbox) state.event(sandbox, type, reason, message);
  }

  return { watch, waitForReady, logs, recordEvent };
}
