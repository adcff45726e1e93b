// A sandbox's life: create from a template (limits from Kubernetes quantities), the startup sequence in the
// background, pause/resume, and the asynchronous deletion that the cleaner retries when it fails.
import type { DriverSandbox } from "./drivers/types";
import { errors } from "./errors";
import { quoted, sha256Hex } from "bunker/core";
import type { CreateSandboxRequest, SandboxWire, TemplateSpec } from "./schema";
import type { LiveSandbox, SandboxState } from "./sandbox-state";
import { runStartup } from "./startup";
import type { SandboxRow } from "./store";

const FOREVER = "9999-12-31T23:59:59Z";

export function createSandboxLifecycle(state: SandboxState) {
  const { options: o, live } = state;

  async function boot(sandbox: LiveSandbox, spec: TemplateSpec) {
    const event = state.event.bind(null, sandbox);
    try {
      await runStartup(sandbox.runtime, spec, { id: sandbox.row.id, image: sandbox.row.image, driver: o.driver.name, event });
      if (sandbox.row.status !== "pending") return;
      const unenforced = sandbox.runtime.unenforced;
      await state.setStatus(sandbox, "running", unenforced.length ? `limits not enforced: ${unenforced.join("; ")}` : null);
    } catch (error) {
      const reason = (error as Error).message;
      state.event(sandbox, "Warning", "Failed", reason);
      await state.setStatus(sandbox, "failed", reason);
      await sandbox.runtime.stop().catch(() => undefined);
    }
  }

  function followExit(sandbox: LiveSandbox) {
    sandbox.runtime.onExit((s) => {
      if (sandbox.row.status === "terminating") return;
      if (s.state === "exited") {
        state.event(sandbox, s.exitCode === 0 ? "Normal" : "Warning", "Exited", s.reason ?? "main process exited");
        void state.setStatus(sandbox, s.exitCode === 0 ? "succeeded" : "failed", s.reason ?? null);
      } else if (s.state === "gone" && ["pending", "running", "paused"].includes(sandbox.row.status)) {
        state.event(sandbox, "Warning", "Died", s.reason ?? "runtime exited");
        void state.setStatus(sandbox, "failed", s.reason ?? "sandbox runtime exited");
      }
    });
  }

  async function freshId(): Promise<string> {
    let id = crypto.randomUUID().slice(0, 8);
    while (live.has(id) || (await o.store.sandbox(id))) id = crypto.randomUUID().slice(0, 8);
    return id;
  }

  async function create(req: CreateSandboxRequest, owner: string): Promise<SandboxWire> {
    const wantedVersion = req.templateVersion || undefined;
    // Another user's private template is "not found", exactly like a missing one.
    const found = await o.templates.specFor(req.template, wantedVersion, owner);
    if (!found) {
      throw wantedVersion
        ? errors.VERSION_NOT_FOUND(`template ${quoted(req.template, 256)} version ${wantedVersion} not found`)
        : errors.TEMPLATE_NOT_FOUND(`template ${quoted(req.template, 256)} not found`);
    }
    const { spec, version } = found;
    if (spec.network?.allowedDomains?.length) {
      throw errors.ALLOWED_DOMAINS_UNSUPPORTED("network.allowedDomains needs an egress filter that the local driver does not have yet: use allowInternetAccess true or false");
    }
    const image = o.driver.checkImage(spec.image);
    if (!image.ok) throw errors.IMAGE_UNSUPPORTED(image.reason);
    // An empty quantity means "not given" (LiteBoxd's Go SDK sends "" for a field left blank).
    const cpu = req.overrides?.cpu || spec.resources?.cpu || "500m";
    const memory = req.overrides?.memory || spec.resources?.memory || "512Mi";
    const limits = { ...o.resources.admit(cpu, memory), pids: o.pidsLimit };
    const ttl = req.overrides?.ttl ?? spec.ttl ?? 3600;
    const env = { ...spec.env, ...req.overrides?.env };
    const id = await freshId();
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
    const at = new Date();
    const row: SandboxRow = {
      id, owner, template: req.template, templateVersion: version, image: spec.image, cpu, memory, ttl, env,
      status: "pending", statusReason: null, desiredState: "running", accessTokenHash: sha256Hex(token),
      createdAt: at.toISOString(), expiresAt: ttl === 0 ? FOREVER : new Date(at.getTime() + ttl * 1000).toISOString(),
      updatedAt: at.toISOString(),
    };
    await o.store.insertSandbox(row);
    let runtime: DriverSandbox;
    try {
      const argv = [...(spec.command ?? []), ...(spec.args ?? [])];
      runtime = o.driver.create({ id, image: spec.image, argv, env, network: spec.network?.allowInternetAccess === true, limits });
    } catch (error) {
      await o.store.deleteSandbox(id);
      throw errors.DRIVER_ERROR(`the ${o.driver.name} driver could not create the sandbox: ${(error as Error).message}`);
    }
    const sandbox: LiveSandbox = { row, runtime, events: [] };
    live.set(id, sandbox);
    state.event(sandbox, "Normal", "Created", `sandbox ${id} created from template ${req.template} v${version}`);
    state.notify(id, "pending", owner);
    followExit(sandbox);
    void boot(sandbox, spec);
    return state.wire(row, { accessToken: token });
  }

  /** Marks the sandbox terminating and removes it in the background; a failure is retried by the cleaner. */
  async function beginDelete(row: SandboxRow, why: string): Promise<SandboxRow> {
    const sandbox = live.get(row.id);
    const next = { ...row, status: "terminating", statusReason: why, desiredState: "deleted", updatedAt: new Date().toISOString() };
    if (row.status !== "terminating") {
      await o.store.setSandboxStatus(row.id, "terminating", why, "deleted");
      state.notify(row.id, "terminating", row.owner);
    }
    if (sandbox) {
      sandbox.row = next;
      state.event(sandbox, "Normal", "Killing", why);
      sandbox.deleting ??= finishDelete(row.id, sandbox.runtime, row.owner);
    } else void finishDelete(row.id, undefined, row.owner);
    return next;
  }

  async function finishDelete(id: string, runtime: DriverSandbox | undefined, owner: string): Promise<void> {
    try {
      if (runtime) await runtime.delete();
      else await o.driver.cleanupOrphan(id);
      await o.store.deleteSandbox(id);
      live.delete(id);
      state.notify(id, "deleted", owner);
    } catch (error) {
      o.log.warn("sandbox deletion failed; the cleaner retries", { id, error: (error as Error).message });
      const sandbox = live.get(id);
      if (sandbox) sandbox.deleting = undefined;
    }
  }

  async function remove(id: string, owner: string): Promise<SandboxWire> {
    return state.wire(await beginDelete(await state.owned(id, owner), "deleted by request"));
  }

  async function pause(id: string, owner: string): Promise<SandboxWire> {
    const row = await state.owned(id, owner);
    const sandbox = live.get(id);
    if (row.status === "paused") return state.wire(row);
    if (!sandbox || row.status !== "running") throw errors.SANDBOX_NOT_RUNNING(`sandbox ${id} is ${row.status}: only a running sandbox can be paused`);
    if (!sandbox.runtime.pause) throw errors.NOT_SUPPORTED(`the ${o.driver.name} driver cannot pause sandboxes`);
    const how = await sandbox.runtime.pause();
    await state.setStatus(sandbox, "paused", `paused (${how}); the TTL keeps counting`);
    state.event(sandbox, "Normal", "Paused", `every process frozen (${how}), memory kept`);
    return state.wire(sandbox.row);
  }

  async function resume(id: string, owner: string): Promise<SandboxWire> {
    const row = await state.owned(id, owner);
    const sandbox = live.get(id);
    if (row.status === "running") return state.wire(row);
    if (!sandbox || row.status !== "paused") throw errors.SANDBOX_NOT_RUNNING(`sandbox ${id} is ${row.status}: only a paused sandbox can be resumed`);
    await sandbox.runtime.resume?.();
    await state.setStatus(sandbox, "running", null);
    state.event(sandbox, "Normal", "Resumed", "processes thawed");
    return state.wire(sandbox.row);
  }

  return { create, remove, pause, resume, beginDelete, finishDelete };
}

export type SandboxLifecycle = ReturnType<typeof createSandboxLifecycle>;
