// Test helpers: a bunker with this plugin (and liteboxd for the sandboxed variant), JSON calls, a temp safe directory.
import { createBunker, type Bunker } from "bunker/core";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import liteboxd from "../liteboxd/index";
import uzoncalc from "./index";

export interface ExecutorVariant {
  name: string;
  executor: "inprocess" | "isolated";
  /** Load liteboxd so the worker runs in its bubblewrap sandbox. */
  sandbox: boolean;
}

export const EXECUTOR_VARIANTS: ExecutorVariant[] = [
  { name: "in-process executor", executor: "inprocess", sandbox: false },
  { name: "isolated executor, plain worker process", executor: "isolated", sandbox: false },
  { name: "isolated executor, worker in the liteboxd sandbox", executor: "isolated", sandbox: true },
];

export async function calcBunker(variant: ExecutorVariant, dataDir: string, config: Record<string, unknown> = {}, server?: Record<string, unknown>): Promise<Bunker> {
  return createBunker({
    builtins: false,
    plugins: variant.sandbox ? [liteboxd, uzoncalc] : [uzoncalc],
    config: {
      dataDir,
      log: { level: "silent" },
      ...(server ? { server } : {}),
      plugins: { uzoncalc: { executor: variant.executor, ...config } },
    },
  });
}

export async function call(bunker: Bunker, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await bunker.handle(
    new Request(`http://localhost${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export const start = (b: Bunker, body: Record<string, unknown>) => call(b, "POST", "/v1/calc/execution/start", body);
export const resume = (b: Bunker, session_id: string, user_input: Record<string, unknown>) =>
  call(b, "POST", "/v1/calc/execution/resume", { session_id, user_input });
export const cancel = (b: Bunker, session_id: string) => call(b, "POST", "/v1/calc/execution/cancel", { session_id });
export const status = (b: Bunker, session_id: string) => call(b, "GET", `/v1/calc/execution/status/${session_id}`);

/** A temp dir with `safe/flow.ts` (the fixture sheets), readable by the sandbox's unprivileged user. */
export function makeSafeDir(prefix = "uzoncalc-"): { root: string; safe: string; sheet: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const safe = join(root, "safe");
  mkdirSync(safe);
  const sheet = join(safe, "flow.ts");
  copyFileSync(join(import.meta.dir, "fixtures", "flow.ts"), sheet);
  chmodSync(root, 0o755);
  chmodSync(safe, 0o755);
  chmodSync(sheet, 0o644);
  return { root, safe, sheet, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
