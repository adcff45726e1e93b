// Sandbox rules: create from a template, the startup sequence (startupScript → readiness probe → files), exec, logs,
// files, TTL expiry and asynchronous deletion that survives a restart.
import { BunkerError, badRequest, conflict, notFound } from "bunker/core";
import type { Logger } from "bunker/core";
import { timingSafeEqual } from "node:crypto";
import { DriverPathError, type DriverExecResult, type DriverSandbox, type InteractiveProcess, type SandboxDriver } from "./drivers/types";
import type { CreateSandboxRequest, ExecRequest, ExecResultWire, SandboxWire, TemplateSpec } from "./schema";
import type { SandboxRow, Store } from "./store";
import { runStartup } from "./startup";
import type { TemplateService } from "./templates";

export interface SandboxServiceOptions {
  store: Store;
  driver: SandboxDriver;
  templates: TemplateService;
  log: Logger;
  /** Gateway base for accessUrl, e.g. http://127.0.0.1:8080/api/v1 (read at use time: the port is known late). */
  apiBase: () => string;
  pidsLimit: number;
  maxExecOutputBytes: number;
}

interface Live {
  row: SandboxRow;
  runtime: DriverSandbox;
  events: string[];
  deleting?: Promise<void>;
}

const FOREVER = "9999-12-31T23:59:59Z";
const MAX_EVENTS = 200;

/** "500m" → 0.5, "2" → 2 (Kubernetes CPU quantities). */
export function parseCpu(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q.trim());
  if (!m) throw badRequest(`invalid cpu quantity "${q}" (use e.g. 500m or 1)`);
  const v = Number(m[1]) / (m[2] ? 1000 : 1);
  if (v <= 0) throw badRequest(`cpu must be positive, got "${q}"`);
  return v;
}

/** "512Mi" → 512, "1Gi" → 1024, "1G" → 953.7 (Kubernetes memory quantities, in MiB). */
export function parseMemoryMb(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q.trim());
  if (!m) throw badRequest(`invalid memory quantity "${q}" (use e.g. 512Mi or 1Gi)`);
  const factor: Record<string, number> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  const mb = (Number(m[1]) * factor[m[2] ?? ""]!) / 1024 ** 2;
  if (mb < 16) throw badRequest(`memory must be at least 16Mi, got "${q}"`);
  return mb;
}

const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

export type SandboxWatcher = (sandbox: { id: string; status: string; owner: string }) => void;

export function createSandboxService(o: SandboxServiceOptions) {
  const live = new Map<string, Live>();
  const watchers = new Set<SandboxWatcher>();
  const notify = (id: string, status: string, owner: string) => {
    for (const fn of watchers) {
      try {
        fn({ id, status, owner });
      } catch (error) {
        o.log.warn("a sandbox watcher threw", { id, error: (error as Error).message });
      }
    }
  };

  const wire = (row: SandboxRow, extra: Partial<SandboxWire> = {}): SandboxWire => ({
    id: row.id, image: row.image, cpu: row.cpu, memory: row.memory, ttl: row.ttl, env: row.env,
    status: row.status as SandboxWire["status"], template: row.template ?? undefined,
    templateVersion: row.templateVersion ?? undefined, accessUrl: `${o.apiBase()}/sandbox/${row.id}`,
    runtimeKind: o.driver.name, created_at: row.createdAt, expires_at: row.expiresAt, updated_at: row.updatedAt,
    desired_state: row.desiredState, lifecycle_status: row.status, status_reason: row.statusReason ?? undefined, ...extra,
  });

  function event(l: Live, type: "Normal" | "Warning", reason: string, message: string) {
    l.events.push(`[${type}] ${reason}: ${message}`);
    if (l.events.length > MAX_EVENTS) l.events.shift();
  }

  async function setStatus(l: Live, status: string, reason: string | null) {
    if (l.row.status === "terminating" && status !== "terminating") return;
    l.row = { ...l.row, status, statusReason: reason, updatedAt: new Date().toISOString() };
    await o.store.setSandboxStatus(l.row.id, status, reason);
    notify(l.row.id, status, l.row.owner);
  }

  async function owned(id: string, owner: string): Promise<SandboxRow> {
    const row = live.get(id)?.row ?? (await o.store.sandbox(id));
    if (!row || row.owner !== owner) throw notFound(`sandbox ${id} not found`);
    return row;
  }

  function running(id: string, row: SandboxRow): Live {
    const l = live.get(id);
    if (row.status === "paused") throw conflict(`sandbox ${id} is paused: resume it first (POST /sandboxes/${id}/resume)`, undefined, "SANDBOX_PAUSED");
    if (!l || !["running", "pending"].includes(row.status)) throw conflict(`sandbox ${id} is ${row.status}, not running`);
    return l;
  }

  async function boot(l: Live, spec: TemplateSpec) {
    try {
      await runStartup(l.runtime, spec, { id: l.row.id, image: l.row.image, driver: o.driver.name, event: (type, reason, message) => event(l, type, reason, message) });
      if (l.row.status !== "pending") return;
      await setStatus(l, "running", l.runtime.unenforced.length ? `limits not enforced: ${l.runtime.unenforced.join("; ")}` : null);
    } catch (error) {
      const reason = (error as Error).message;
      event(l, "Warning", "Failed", reason);
      await setStatus(l, "failed", reason);
      await l.runtime.stop().catch(() => undefined);
    }
  }

  async function create(req: CreateSandboxRequest, owner: string): Promise<SandboxWire> {
    const found = await o.templates.specFor(req.template, req.templateVersion);
    if (!found) throw notFound(req.templateVersion ? `template ${req.template} version ${req.templateVersion} not found` : `template ${req.template} not found`);
    const { spec, version } = found;
    if (spec.network?.allowedDomains?.length) {
      throw badRequest("network.allowedDomains needs an egress filter that the local driver does not have yet: use allowInternetAccess true or false", undefined, "ALLOWED_DOMAINS_UNSUPPORTED");
    }
    const image = o.driver.checkImage(spec.image);
    if (!image.ok) throw badRequest(image.reason, undefined, "IMAGE_UNSUPPORTED");
    const cpu = req.overrides?.cpu ?? spec.resources?.cpu ?? "500m";
    const memory = req.overrides?.memory ?? spec.resources?.memory ?? "512Mi";
    const limits = { cpus: parseCpu(cpu), memoryMb: parseMemoryMb(memory), pids: o.pidsLimit };
    const ttl = req.overrides?.ttl ?? spec.ttl ?? 3600;
    const env = { ...spec.env, ...req.overrides?.env };
    let id = crypto.randomUUID().slice(0, 8);
    while (live.has(id) || (await o.store.sandbox(id))) id = crypto.randomUUID().slice(0, 8);
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
    const at = new Date();
    const row: SandboxRow = {
      id, owner, template: req.template, templateVersion: version, image: spec.image, cpu, memory, ttl, env,
      status: "pending", statusReason: null, desiredState: "running", accessTokenHash: sha256(token),
      createdAt: at.toISOString(), expiresAt: ttl === 0 ? FOREVER : new Date(at.getTime() + ttl * 1000).toISOString(),
      updatedAt: at.toISOString(),
    };
    await o.store.insertSandbox(row);
    let runtime: DriverSandbox;
    try {
      runtime = o.driver.create({
        id, image: spec.image, argv: [...(spec.command ?? []), ...(spec.args ?? [])], env, network: spec.network?.allowInternetAccess === true, limits,
      });
    } catch (error) {
      await o.store.deleteSandbox(id);
      throw new BunkerError(500, "DRIVER_ERROR", `the ${o.driver.name} driver could not create the sandbox: ${(error as Error).message}`);
    }
    const l: Live = { row, runtime, events: [] };
    live.set(id, l);
    event(l, "Normal", "Created", `sandbox ${id} created from template ${req.template} v${version}`);
    notify(id, "pending", owner);
    runtime.onExit((s) => {
      if (l.row.status === "terminating") return;
      if (s.state === "exited") {
        event(l, s.exitCode === 0 ? "Normal" : "Warning", "Exited", s.reason ?? "main process exited");
        void setStatus(l, s.exitCode === 0 ? "succeeded" : "failed", s.reason ?? null);
      } else if (s.state === "gone" && ["pending", "running", "paused"].includes(l.row.status)) {
        event(l, "Warning", "Died", s.reason ?? "runtime exited");
        void setStatus(l, "failed", s.reason ?? "sandbox runtime exited");
      }
    });
    void boot(l, spec);
    return wire(row, { accessToken: token });
  }

  async function remove(id: string, owner: string): Promise<SandboxWire> {
    const row = await owned(id, owner);
    return wire(await beginDelete(row, "deleted by request"));
  }

  /** Marks the sandbox terminating and removes it in the background; a failure is retried by the cleaner. */
  async function beginDelete(row: SandboxRow, why: string): Promise<SandboxRow> {
    const l = live.get(row.id);
    const at = new Date().toISOString();
    const next = { ...row, status: "terminating", statusReason: why, desiredState: "deleted", updatedAt: at };
    if (row.status !== "terminating") {
      await o.store.setSandboxStatus(row.id, "terminating", why, "deleted");
      notify(row.id, "terminating", row.owner);
    }
    if (l) {
      l.row = next;
      event(l, "Normal", "Killing", why);
      l.deleting ??= finishDelete(row.id, l.runtime, row.owner);
    } else void finishDelete(row.id, undefined, row.owner);
    return next;
  }

  async function finishDelete(id: string, runtime?: DriverSandbox, owner?: string): Promise<void> {
    try {
      if (runtime) await runtime.delete();
      else await o.driver.cleanupOrphan(id);
      await o.store.deleteSandbox(id);
      live.delete(id);
      notify(id, "deleted", owner ?? "");
    } catch (error) {
      o.log.warn("sandbox deletion failed; the cleaner retries", { id, error: (error as Error).message });
      const l = live.get(id);
      if (l) l.deleting = undefined;
    }
  }

  async function exec(id: string, req: ExecRequest, owner: string): Promise<ExecResultWire> {
    const l = running(id, await owned(id, owner));
    if (req.cwd !== undefined && !req.cwd.startsWith("/")) throw badRequest("cwd must be an absolute path");
    let r: DriverExecResult;
    try {
      r = await l.runtime.exec({ argv: req.command, env: req.env, cwd: req.cwd, timeoutMs: (req.timeout ?? 30) * 1000, maxOutputBytes: o.maxExecOutputBytes });
    } catch (error) {
      throw conflict(`sandbox ${id} is not running: ${(error as Error).message}`);
    }
    return { exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, timed_out: r.timedOut, truncated: r.truncated };
  }

  function checkPath(path: string | undefined): string {
    if (!path) throw badRequest("path is required");
    if (!path.startsWith("/") || path.includes("\0") || path.split("/").includes("..")) {
      throw badRequest(`path "${path}" must be absolute and must not contain ".."`);
    }
    return path;
  }

  const pathError = (error: unknown): never => {
    if (error instanceof DriverPathError) {
      if (error.kind === "notfound") throw notFound(error.message);
      if (error.kind === "path") throw badRequest(error.message);
      throw new BunkerError(500, "FILE_ERROR", error.message);
    }
    throw error;
  };

  async function execInteractive(id: string, owner: string, opts: {
    command: string[]; tty: boolean; cols?: number; rows?: number; env?: Record<string, string>; cwd?: string;
  }): Promise<InteractiveProcess> {
    const l = running(id, await owned(id, owner));
    if (!opts.command.length) throw badRequest("command must not be empty");
    if (opts.cwd !== undefined && !opts.cwd.startsWith("/")) throw badRequest("cwd must be an absolute path");
    for (const n of [opts.cols, opts.rows]) if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 1000)) throw badRequest("cols and rows must be integers from 1 to 1000");
    if (!l.runtime.spawn) throw new BunkerError(501, "NOT_SUPPORTED", `the ${o.driver.name} driver has no interactive exec`);
    try {
      return await l.runtime.spawn({ argv: opts.command, tty: opts.tty, cols: opts.cols, rows: opts.rows, env: opts.env, cwd: opts.cwd });
    } catch (error) {
      throw conflict(`sandbox ${id} is not running: ${(error as Error).message}`);
    }
  }

  async function pause(id: string, owner: string): Promise<SandboxWire> {
    const row = await owned(id, owner);
    const l = live.get(id);
    if (row.status === "paused") return wire(row);
    if (!l || row.status !== "running") throw conflict(`sandbox ${id} is ${row.status}: only a running sandbox can be paused`);
    if (!l.runtime.pause) throw new BunkerError(501, "NOT_SUPPORTED", `the ${o.driver.name} driver cannot pause sandboxes`);
    const how = await l.runtime.pause();
    await setStatus(l, "paused", `paused (${how}); the TTL keeps counting`);
    event(l, "Normal", "Paused", `every process frozen (${how}), memory kept`);
    return wire(l.row);
  }

  async function resume(id: string, owner: string): Promise<SandboxWire> {
    const row = await owned(id, owner);
    const l = live.get(id);
    if (row.status === "running") return wire(row);
    if (!l || row.status !== "paused") throw conflict(`sandbox ${id} is ${row.status}: only a paused sandbox can be resumed`);
    await l.runtime.resume?.();
    await setStatus(l, "running", null);
    event(l, "Normal", "Resumed", "processes thawed");
    return wire(l.row);
  }

  return {
    create,
    remove,
    exec,
    execInteractive,
    pause,
    resume,
    /** Checks a sandbox's access token (stored hashed); the owner, or null when wrong/unknown/deleted. */
    async verifyAccessToken(id: string, token: string): Promise<{ owner: string; status: string } | null> {
      if (!token) return null;
      const row = live.get(id)?.row ?? (await o.store.sandbox(id));
      if (!row || row.status === "terminating" || !row.accessTokenHash) return null;
      const a = Buffer.from(sha256(token), "hex");
      const b = Buffer.from(row.accessTokenHash, "hex");
      if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
      return { owner: row.owner, status: row.status };
    },
    /** Records an event shown by /logs (e.g. "[Normal] SSHLogin: user alice from 127.0.0.1"). */
    recordEvent(id: string, type: "Normal" | "Warning", reason: string, message: string): void {
      const l = live.get(id);
      if (l) event(l, type, reason, message);
    },
    /** Called on every status change of any sandbox (deletion included, status "deleted"); returns an unsubscribe. */
    watch(fn: SandboxWatcher): () => void {
      watchers.add(fn);
      return () => void watchers.delete(fn);
    },
    async get(id: string, owner: string): Promise<SandboxWire> {
      return wire(await owned(id, owner));
    },
    async list(owner: string, includeTerminating = true): Promise<SandboxWire[]> {
      const rows = await o.store.sandboxes(owner);
      return rows.map((r) => live.get(r.id)?.row ?? r).filter((r) => includeTerminating || r.status !== "terminating").map((r) => wire(r));
    },
    async logs(id: string, owner: string, tail?: number): Promise<{ logs: string; events: string[] }> {
      await owned(id, owner);
      const l = live.get(id);
      if (!l) return { logs: "", events: [] };
      let lines = l.runtime.logs().split("\n");
      if (lines.at(-1) === "") lines.pop();
      if (tail !== undefined && tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail);
      return { logs: lines.length ? lines.join("\n") + "\n" : "", events: [...l.events] };
    },
    async upload(id: string, path: string | undefined, body: ReadableStream<Uint8Array>, owner: string): Promise<number> {
      const l = running(id, await owned(id, owner));
      return l.runtime.writeFile(checkPath(path), body).catch(pathError);
    },
    async download(id: string, path: string | undefined, owner: string) {
      const l = running(id, await owned(id, owner));
      return l.runtime.readFile(checkPath(path)).catch(pathError);
    },
    /** Where the host can connect to `port` inside a running sandbox (e.g. fetch(`http://${host}:${port}/`)). */
    async portTarget(id: string, port: number, owner: string): Promise<{ host: string; port: number }> {
      const l = running(id, await owned(id, owner));
      if (!l.runtime.portTarget) throw new BunkerError(501, "NOT_SUPPORTED", `the ${o.driver.name} driver cannot reach sandbox ports`);
      return l.runtime.portTarget(port).catch(pathError);
    },
    /** Resolves once the sandbox is running; rejects when it failed (used by other plugins). */
    async waitForReady(id: string, owner: string, timeoutMs = 300_000): Promise<SandboxWire> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const row = await owned(id, owner);
        if (row.status === "running") return wire(row);
        if (!["pending"].includes(row.status)) throw conflict(`sandbox ${id} is ${row.status}: ${row.statusReason ?? ""}`.trim());
        if (Date.now() > deadline) throw new BunkerError(504, "TIMEOUT", `sandbox ${id} not ready after ${timeoutMs} ms`);
        await Bun.sleep(10);
      }
    },
    /** Deletes expired sandboxes and retries unfinished deletions (the cleaner's round). */
    async sweep(): Promise<number> {
      let n = 0;
      const nowIso = new Date().toISOString();
      for (const row of await o.store.sandboxes()) {
        const current = live.get(row.id);
        if (row.status === "terminating") {
          if (!current?.deleting) void (current ? beginDelete(current.row, current.row.statusReason ?? "retrying deletion") : finishDelete(row.id, undefined, row.owner));
          continue;
        }
        if (row.ttl > 0 && row.expiresAt <= nowIso) {
          await beginDelete(current?.row ?? row, "TTL expired");
          n++;
        }
      }
      return n;
    },
    /** On boot: sandboxes of a previous run have no process any more; mark them and clean their storage up. */
    async recoverAfterRestart(): Promise<number> {
      let n = 0;
      for (const row of await o.store.sandboxes()) {
        if (live.has(row.id)) continue;
        await beginDelete(row, "left over from a previous server run");
        n++;
      }
      return n;
    },
    /** Stops every sandbox at shutdown (their rows are cleaned up on the next boot). */
    async stopAll(): Promise<void> {
      await Promise.all([...live.values()].map((l) => l.deleting ?? l.runtime.stop().catch(() => undefined)));
    },
    /** In-flight deletions (tests and shutdown wait on them). */
    async settle(): Promise<void> {
      await Promise.all([...live.values()].map((l) => l.deleting).filter(Boolean));
    },
  };
}

export type SandboxService = ReturnType<typeof createSandboxService>;
