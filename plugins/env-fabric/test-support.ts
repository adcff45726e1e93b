// Test set-up shared by env-fabric's tests: an offline package index built with the real `uv build`, one uv cache
// for every test (so the whole suite stays fast), and a bunker with this plugin on temp directories.
import { createBunker, definePlugin, t, type Bunker, type IsolationService, type PluginDefinition } from "bunker/core";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import envFabric from "./index";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
// `bun test` fires no exit event to clean up on, so each run removes the roots of earlier, finished runs.
for (const name of readdirSync(tmpdir())) {
  const pid = Number(/^env-fabric-test-(\d+)-/.exec(name)?.[1]);
  if (pid && pid !== process.pid && !alive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}
export const TEST_ROOT = mkdtempSync(join(tmpdir(), `env-fabric-test-${process.pid}-`));
export const UV_CACHE = join(TEST_ROOT, "uv_cache");
process.on("exit", () => rmSync(TEST_ROOT, { recursive: true, force: true }));

interface DemoPackage {
  name: string;
  version: string;
  dependencies?: string[];
}

/** Tiny pure-Python packages; bunkerdemo-b needs bunkerdemo-a>=1.1, and no bunkerdemo-a 9.9 exists. */
const DEMO_PACKAGES: DemoPackage[] = [
  { name: "bunkerdemo-a", version: "1.0" },
  { name: "bunkerdemo-a", version: "1.1" },
  { name: "bunkerdemo-b", version: "1.0", dependencies: ["bunkerdemo-a>=1.1"] },
];

async function buildWheel(pkg: DemoPackage, outDir: string) {
  const module = pkg.name.replace(/-/g, "_");
  const src = mkdtempSync(join(TEST_ROOT, `src-${module}-`));
  mkdirSync(join(src, "src", module), { recursive: true });
  writeFileSync(join(src, "src", module, "__init__.py"), `VERSION = "${pkg.version}"\n`);
  writeFileSync(
    join(src, "pyproject.toml"),
    `[project]
name = "${pkg.name}"
version = "${pkg.version}"
requires-python = ">=3.8"
dependencies = ${JSON.stringify(pkg.dependencies ?? [])}

[build-system]
requires = ["uv_build>=0.7"]
build-backend = "uv_build"
`,
  );
  const proc = Bun.spawn(["uv", "build", "--wheel", "--no-index", "--out-dir", outDir], {
    cwd: src,
    env: { ...process.env, UV_CACHE_DIR: UV_CACHE, UV_PYTHON_DOWNLOADS: "never" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if ((await proc.exited) !== 0) throw new Error(`uv build ${pkg.name} failed: ${await new Response(proc.stderr).text()}`);
}

let wheels: Promise<string> | undefined;
/** The --find-links directory, built once per test process. */
export function offlineIndex(): Promise<string> {
  return (wheels ??= (async () => {
    const dir = join(TEST_ROOT, "wheels");
    mkdirSync(dir, { recursive: true });
    for (const pkg of DEMO_PACKAGES) await buildWheel(pkg, dir);
    return dir;
  })());
}

export interface TestBunker {
  bunker: Bunker;
  dir: string;
  envsBase: string;
  /** Where the open-mode user's envs live: `<envsBase>/@local/<workflow>/<node>/<version>`. */
  localEnvs: string;
  /** A new API key of `user` (once a key exists, every request needs one). */
  keyFor(user: string): Promise<string>;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface TestBunkerOptions {
  config?: Record<string, unknown>;
  /** Use the configured package index instead of the offline one. */
  online?: boolean;
  extraPlugins?: PluginDefinition[];
  start?: boolean;
}

export async function testBunker(options: TestBunkerOptions = {}): Promise<TestBunker> {
  const dir = mkdtempSync(join(TEST_ROOT, "bunker-"));
  const envsBase = join(dir, "envs");
  const index = options.online ? {} : { noIndex: true, findLinks: [await offlineIndex()] };
  const bunker = await createBunker({
    builtins: false,
    plugins: [...(options.extraPlugins ?? []), envFabric],
    config: {
      dataDir: dir,
      server: { port: 0 },
      log: { level: "silent" },
      plugins: { "env-fabric": { envsBasePath: envsBase, cacheDir: UV_CACHE, cleanupIntervalMinutes: 0, ...index, ...options.config } },
    },
  });
  if (options.start) await bunker.start();
  const call: TestBunker["call"] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const res = await bunker.handle(new Request(`http://localhost${path}`, init));
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // SSE and other text bodies stay as text
    }
    return { status: res.status, body: parsed };
  };
  return {
    bunker, dir, envsBase, call,
    localEnvs: join(envsBase, "@local"),
    keyFor: async (user) => (await bunker.keys.create(user)).key,
    async close() {
      await bunker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A plugin that provides the real bubblewrap isolation service, when liteboxd's driver is in the tree. */
export async function isolationPlugin(): Promise<(PluginDefinition & { service: IsolationService }) | null> {
  const driver = join(import.meta.dir, "..", "liteboxd", "isolation", "index.ts");
  if (!existsSync(driver)) return null;
  const { createBwrapIsolation } = await import(driver);
  const isolation = createBwrapIsolation();
  if (!isolation.status().available) return null;
  const plugin = definePlugin({
    name: "test-isolation",
    version: "0.0.0",
    config: t.Object({}),
    setup(ctx) {
      ctx.services.provide("isolation", isolation);
    },
  });
  return Object.assign(plugin, { service: isolation as IsolationService });
}

/** The liteboxd plugin itself (it provides "isolation" and hides the Bunker data directory), once it is in the tree. */
export async function liteboxdPlugin(): Promise<PluginDefinition | null> {
  const entry = join(import.meta.dir, "..", "liteboxd", "index.ts");
  if (!existsSync(entry)) return null;
  const plugin = (await import(entry)).default as PluginDefinition;
  const { createBwrapIsolation } = await import(join(import.meta.dir, "..", "liteboxd", "isolation", "index.ts"));
  return createBwrapIsolation().status().available ? plugin : null;
}
