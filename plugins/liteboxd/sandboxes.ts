// The "liteboxd.sandboxes" service, put together from its parts: lifecycle (create, startup, pause, delete), exec,
// files, events, and the cleaner's housekeeping, which only liteboxd's index.ts sees.
import { hashMatches } from "bunker/core";
import type { SandboxService } from "./contract";
import { createSandboxCleaner, type SandboxMaintenance } from "./sandbox-cleaner";
import { createSandboxEvents } from "./sandbox-events";
import { createSandboxExec } from "./sandbox-exec";
import { createSandboxFiles } from "./sandbox-files";
import { createSandboxLifecycle } from "./sandbox-lifecycle";
import { createSandboxState, type SandboxServiceOptions } from "./sandbox-state";
import type { SandboxStatus, SandboxWire } from "./schema";

/** The service as liteboxd's index.ts holds it: the contract, plus the housekeeping hooks. */
export interface ManagedSandboxService {
  service: SandboxService;
  maintenance: SandboxMaintenance;
}

export function createSandboxService(options: SandboxServiceOptions): ManagedSandboxService {
  const state = createSandboxState(options);
  const lifecycle = createSandboxLifecycle(state);

  const service = {
    create: lifecycle.create,
    remove: lifecycle.remove,
    pause: lifecycle.pause,
    resume: lifecycle.resume,
    ...createSandboxExec(state),
    ...createSandboxFiles(state),
    ...createSandboxEvents(state),
    async get(id: string, owner: string): Promise<SandboxWire> {
      return state.wire(await state.owned(id, owner));
    },
    async list(owner: string, includeTerminating = true): Promise<SandboxWire[]> {
      const rows = await options.store.sandboxes(owner);
      return rows
        .map((row) => state.live.get(row.id)?.row ?? row)
        .filter((row) => includeTerminating || row.status !== "terminating")
        .map((row) => state.wire(row));
    },
    async verifyAccessToken(id: string, token: string): Promise<{ owner: string; status: SandboxStatus } | null> {
      if (!token) return null;
      const row = state.live.get(id)?.row ?? (await options.store.sandbox(id));
      if (!row || row.status === "terminating" || !row.accessTokenHash) return null;
      if (!hashMatches(token, row.accessTokenHash)) return null;
      return { owner: row.owner, status: row.status as SandboxStatus };
    },
  } satisfies SandboxService;

  return { service, maintenance: createSandboxCleaner(state, lifecycle) };
}
