// What the sandbox service's parts share: the live sandboxes of this run, the watchers, and the small rules every
// part applies (ownership, "must be running", status changes that notify, events for /logs, the wire shape).
import { quoted, type Logger } from "bunker/core";
import type { SandboxEventType, SandboxWatcher } from "./contract";
import type { DriverSandbox, SandboxDriver } from "./drivers/types";
import { errors } from "./errors";
import type { SandboxStatus, SandboxWire } from "./schema";
import type { SandboxRow, Store } from "./store";
import type { ResourceCeiling } from "./resource-ceiling";
import type { TemplateSpecSource } from "./templates";

export interface SandboxServiceOptions {
  store: Store;
  driver: SandboxDriver;
  templates: TemplateSpecSource;
  log: Logger;
  /** Gateway base for accessUrl, e.g. http://127.0.0.1:8080/api/v1 (read at use time: the port is known late). */
  apiBase: () => string;
  pidsLimit: number;
  maxExecOutputBytes: number;
  /** The most cpu and memory one sandbox may have (host capacity or the configured maxima). */
  resources: ResourceCeiling;
}

/** A sandbox started by this server run. */
export interface LiveSandbox {
  row: SandboxRow;
  runtime: DriverSandbox;
  events: string[];
  /** The deletion under way, if any (the cleaner retries one that failed). */
  deleting?: Promise<void>;
}

export interface SandboxState {
  readonly options: SandboxServiceOptions;
  readonly live: Map<string, LiveSandbox>;
  readonly watchers: Set<SandboxWatcher>;
  notify(id: string, status: string, owner: string): void;
  wire(row: SandboxRow, extra?: Partial<SandboxWire>): SandboxWire;
  event(sandbox: LiveSandbox, type: SandboxEventType, reason: string, message: string): void;
  setStatus(sandbox: LiveSandbox, status: string, reason: string | null): Promise<void>;
  /** The row of a sandbox the owner has (live or stored); anyone else's is "not found". */
  owned(id: string, owner: string): Promise<SandboxRow>;
  /** The live sandbox if it can run commands now; a 409 naming why not otherwise. */
  running(id: string, row: SandboxRow): LiveSandbox;
}

const MAX_EVENTS = 200;

export function createSandboxState(options: SandboxServiceOptions): SandboxState {
  const live = new Map<string, LiveSandbox>();
  const watchers = new Set<SandboxWatcher>();

  const notify = (id: string, status: string, owner: string) => {
    for (const watcher of watchers) {
      try {
        watcher({ id, status: status as SandboxStatus | "deleted", owner });
      } catch (error) {
        options.log.warn("a sandbox watcher threw", { id, error: (error as Error).message });
      }
    }
  };

  return {
    options,
    live,
    watchers,
    notify,
    wire: (row, extra = {}) => ({
      id: row.id, image: row.image, cpu: row.cpu, memory: row.memory, ttl: row.ttl, env: row.env,
      status: row.status as SandboxStatus, template: row.template ?? undefined,
      templateVersion: row.templateVersion ?? undefined, accessUrl: `${options.apiBase()}/sandbox/${row.id}`,
      runtimeKind: options.driver.name, created_at: row.createdAt, expires_at: row.expiresAt, updated_at: row.updatedAt,
      desired_state: row.desiredState, lifecycle_status: row.status, status_reason: row.statusReason ?? undefined, ...extra,
    }),
    event(sandbox, type, reason, message) {
      sandbox.events.push(`[${type}] ${reason}: ${message}`);
      if (sandbox.events.length > MAX_EVENTS) sandbox.events.shift();
    },
    async setStatus(sandbox, status, reason) {
      // A deletion has the last word: a late exit or readiness must not resurrect a terminating sandbox.
      if (sandbox.row.status === "terminating" && status !== "terminating") return;
      sandbox.row = { ...sandbox.row, status, statusReason: reason, updatedAt: new Date().toISOString() };
      await options.store.setSandboxStatus(sandbox.row.id, status, reason);
      notify(sandbox.row.id, status, sandbox.row.owner);
    },
    async owned(id, owner) {
      const row = live.get(id)?.row ?? (await options.store.sandbox(id));
      if (!row || row.owner !== owner) throw errors.SANDBOX_NOT_FOUND(`sandbox ${quoted(id, 256)} not found`);
      return row;
    },
    running(id, row) {
      const sandbox = live.get(id);
      if (row.status === "paused") throw errors.SANDBOX_PAUSED(`sandbox ${id} is paused: resume it first (POST /sandboxes/${id}/resume)`);
      if (!sandbox || !["running", "pending"].includes(row.status)) throw errors.SANDBOX_NOT_RUNNING(`sandbox ${id} is ${row.status}, not running`);
      return sandbox;
    },
  };
}
