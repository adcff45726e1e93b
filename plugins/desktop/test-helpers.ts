// Shared set-up for the desktop plugin's tests: a Bunker with this plugin, JSON helpers, polling.
import { createBunker, type Bunker, type PluginDefinition } from "bunker/core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import desktop from "./index";

export interface TestBunker {
  bunker: Bunker;
  dir: string;
  call(method: string, path: string, body?: unknown, key?: string): Promise<Response>;
  json<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startBunker(
  config: Record<string, unknown> = {},
  plugin: PluginDefinition = desktop as PluginDefinition,
  before: PluginDefinition[] = [],
): Promise<TestBunker> {
  const dir = mkdtempSync(join(tmpdir(), "bunker-desktop-test-"));
  const bunker = await createBunker({
    builtins: false,
    plugins: [...before, plugin],
    env: {},
    // The local backend unless a test says otherwise, whatever E2B_API_KEY the machine has.
    config: { dataDir: dir, log: { level: "silent" }, plugins: { desktop: { backend: "local", ...config } } },
  });
  await bunker.start();
  const call = (method: string, path: string, body?: unknown, key?: string) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (key) headers.authorization = `Bearer ${key}`;
    return bunker.handle(new Request(`http://localhost/desktop${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  };
  return {
    bunker, dir, call,
    async json(method, path, body, key) {
      const res = await call(method, path, body, key);
      return { status: res.status, body: await res.json() };
    },
    async close() {
      await bunker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { eventually } from "../../test/support/eventually";
