// The startup sequence of a sandbox: start the runtime, startupScript, files placed, the main process started, then
// the readiness probe (exec, or Bunker's httpGet through the port tunnel); all within startupTimeout.
import type { DriverSandbox } from "./drivers/types";
import { errors } from "./errors";
import type { TemplateSpec } from "./schema";

export interface StartupContext {
  id: string;
  image: string;
  driver: string;
  event(type: "Normal" | "Warning", reason: string, message: string): void;
}

export async function runStartup(runtime: DriverSandbox, spec: TemplateSpec, ctx: StartupContext): Promise<void> {
  const deadline = Date.now() + (spec.startupTimeout ?? 300) * 1000;
  const remaining = () => deadline - Date.now();
  const timeout = () => errors.STARTUP_TIMEOUT(`startup did not finish within ${spec.startupTimeout ?? 300}s`);
  // start() includes pulling an image not cached yet: it too must end within startupTimeout.
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([runtime.start(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timeout()), Math.max(0, remaining()))))]);
  } finally {
    clearTimeout(timer);
  }
  ctx.event("Normal", "Started", `sandbox ${ctx.id} started (${ctx.driver} driver, image ${ctx.image})`);
  for (const note of runtime.unenforced) ctx.event("Warning", "LimitNotEnforced", note);
  if (spec.startupScript) {
    if (remaining() <= 0) throw timeout();
    const r = await runtime.exec({ argv: ["/bin/sh", "-c", spec.startupScript], timeoutMs: remaining(), maxOutputBytes: 64 * 1024 });
    if (r.timedOut) throw timeout();
    if (r.exitCode !== 0) throw new Error(`startupScript exited with code ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-300)}`);
    ctx.event("Normal", "StartupScript", "startup script completed");
  }
  for (const f of spec.files ?? []) {
    if (f.content !== undefined) {
      const bytes = f.encoding === "base64" ? Buffer.from(f.content, "base64") : new TextEncoder().encode(f.content);
      await runtime.writeFile(f.destination, new Response(bytes).body!);
    } else if (f.source) {
      const r = await runtime.exec({ argv: ["cp", "-r", "--", f.source, f.destination], timeoutMs: Math.max(1000, remaining()) });
      if (r.exitCode !== 0) throw new Error(`copying ${f.source} to ${f.destination} failed: ${r.stderr.trim()}`);
    }
  }
  if (spec.files?.length) ctx.event("Normal", "FilesCopied", `${spec.files.length} file(s) placed`);
  runtime.runMain();
  const probe = spec.readinessProbe;
  if (probe) {
    await Bun.sleep(Math.min((probe.initialDelaySeconds ?? 0) * 1000, Math.max(0, remaining())));
    const threshold = probe.failureThreshold ?? 3;
    let failures = 0;
    for (;;) {
      if (remaining() <= 0) throw timeout();
      const r = await runProbe(runtime, ctx.driver, probe, Math.min(remaining(), 10_000));
      if (r.ok) break;
      failures++;
      if (failures >= threshold) throw new Error(`readiness probe failed ${failures} times (last: ${r.detail})`);
      await Bun.sleep(Math.min(Math.max(0.05, probe.periodSeconds ?? 10) * 1000, Math.max(0, remaining())));
    }
    ctx.event("Normal", "Ready", "readiness probe passed");
  }
}

async function runProbe(runtime: DriverSandbox, driver: string, probe: NonNullable<TemplateSpec["readinessProbe"]>, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  if (probe.exec) {
    const r = await runtime.exec({ argv: probe.exec.command, timeoutMs, maxOutputBytes: 4096 });
    return { ok: r.exitCode === 0, detail: `exit code ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-200)}` };
  }
  const http = probe.httpGet!;
  try {
    if (!runtime.portTarget) return { ok: false, detail: `the ${driver} driver cannot reach sandbox ports` };
    const target = await runtime.portTarget(http.port);
    const path = http.path?.startsWith("/") ? http.path : `/${http.path ?? ""}`;
    const res = await fetch(`http://${target.host}:${target.port}${path}`, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.body?.cancel();
    return { ok: res.status >= 200 && res.status < 400, detail: `HTTP ${res.status} from port ${http.port}` };
  } catch (error) {
    return { ok: false, detail: `GET port ${http.port}: ${(error as Error).message}` };
  }
}
