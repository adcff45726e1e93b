// Prepull tasks: OCI images are pulled into the driver's shared cache in the background, with layer progress;
// "host" and root filesystem directories are on disk already, so their task completes at once.
import type { SandboxDriver } from "./drivers/types";
import { canAccess, quoted, type Principal } from "bunker/core";
import { errors } from "./errors";
import type { PrepullListWire, PrepullRequest, PrepullWire } from "./schema";
import type { PrepullRow, Store } from "./store";

const now = () => new Date().toISOString();

const prepullWire = (p: PrepullRow): PrepullWire => ({
  id: p.id, image: p.image, status: p.status as PrepullWire["status"], progress: { ready: p.ready, total: p.total },
  template: p.template ?? undefined, error: p.error ?? undefined, startedAt: p.startedAt, completedAt: p.completedAt ?? undefined,
});

export function createPrepullTasks(store: Store, driver: SandboxDriver) {
  /** image → id of the task pulling it (one active pull per image). */
  const active = new Map<string, string>();

  async function runPull(row: PrepullRow, timeoutSeconds?: number) {
    let timedOut = false;
    const timer = timeoutSeconds ? setTimeout(() => {
      timedOut = true;
      driver.cancelPull?.(row.image);
    }, timeoutSeconds * 1000) : undefined;
    // Progress arrives faster than the database writes: writes are chained so the last one stored is the latest.
    let writing = Promise.resolve();
    const save = (next: Partial<PrepullRow>) => {
      Object.assign(row, next);
      const snapshot = { ...row };
      writing = writing.then(() => store.updatePrepull(snapshot)).catch(() => undefined);
      return writing;
    };
    try {
      // pending until the image's manifest is read (the layer count known), then pulling with progress.
      await driver.pullImage!(row.image, (p) => void (p.total > 0 && save({ status: "pulling", ready: p.ready, total: p.total })));
      await save({ status: "completed", ready: row.total, completedAt: now() });
    } catch (error) {
      await save({ status: "failed", error: timedOut ? `the pull did not finish within ${timeoutSeconds}s` : (error as Error).message, completedAt: now() });
    } finally {
      clearTimeout(timer);
      if (active.get(row.image) === row.id) active.delete(row.image);
    }
  }

  /** The task if the caller owns it (or is an admin); another user's is "not found", like a missing one. */
  async function owned(id: string, caller: Principal): Promise<PrepullRow> {
    const p = await store.prepull(id);
    if (!p || !canAccess(caller, p.owner)) throw errors.PREPULL_NOT_FOUND(`prepull task ${quoted(id, 256)} not found`);
    return p;
  }

  return {
    /** `owner` owns the task; `template` names the template it pulls for. The cache it fills is shared. */
    async prepull({ image, timeout: timeoutSeconds }: PrepullRequest, owner: string, template?: string): Promise<PrepullWire> {
      const check = driver.checkImage(image);
      if (!check.ok) throw errors.INVALID_REQUEST(check.reason);
      // The task under way may be another user's: its id is not named.
      if (active.has(image)) throw errors.PREPULL_IN_PROGRESS(`a prepull of ${quoted(image, 256)} is already in progress`);
      const at = now();
      const oci = driver.isOciImage?.(image) === true && driver.pullImage !== undefined;
      const row: PrepullRow = {
        id: crypto.randomUUID(), owner, image, status: oci ? "pending" : "completed", template: template ?? null, error: null,
        ready: oci ? 0 : 1, total: oci ? 0 : 1, startedAt: at, completedAt: oci ? null : at,
      };
      await store.insertPrepull(row);
      const answer = prepullWire(row);
      if (oci) {
        active.set(image, row.id);
        void runPull({ ...row }, timeoutSeconds);
      }
      return answer;
    },
    /** The caller's tasks (an admin's: everyone's). */
    async prepulls(q: { image?: string; status?: string }, caller: Principal): Promise<PrepullListWire> {
      const items = (await store.prepulls()).filter((p) => canAccess(caller, p.owner) && (!q.image || p.image === q.image) && (!q.status || p.status === q.status));
      return { items: items.map(prepullWire) };
    },
    async getPrepull(id: string, caller: Principal): Promise<PrepullWire> {
      return prepullWire(await owned(id, caller));
    },
    /** Deletes the task: a pull under way is cancelled, and the cached image goes too unless a sandbox uses it or
     * another completed task still stands for it. */
    async deletePrepull(id: string, caller: Principal): Promise<void> {
      const p = await owned(id, caller);
      if (active.get(p.image) === id) driver.cancelPull?.(p.image);
      await store.deletePrepull(id);
      const others = (await store.prepulls()).some((o) => o.image === p.image && o.status === "completed");
      if (!others && driver.isOciImage?.(p.image) && !active.has(p.image)) driver.removeImage?.(p.image);
    },
    /** On boot: a pull of a previous run that never finished failed with it. */
    async recoverPrepulls(): Promise<number> {
      let failed = 0;
      for (const p of await store.prepulls()) {
        if ((p.status === "pending" || p.status === "pulling") && !active.has(p.image)) {
          await store.updatePrepull({ ...p, status: "failed", error: "the server stopped during the pull", completedAt: now() });
          failed++;
        }
      }
      return failed;
    },
  };
}

