// The published package, as a user gets it: `npm pack`, installed from the tarball into an empty directory, its bin
// scaffolding a project whose own install and tests pass. Proves the package ships every file it imports and
// declares its dependencies (nothing is reached through this checkout except the `bunker` dependency it is told).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { run, TempDirs, testEnv } from "./test-support";

const CHECKOUT = resolve(import.meta.dir, "..");
const temp = new TempDirs();
let env: Record<string, string>;
let tarball: string;

beforeAll(async () => {
  env = testEnv(temp.make("create-agent-pack-home-"));
  // The installed bin runs with `#!/usr/bin/env bun`: the Bun running these tests.
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ""}`;
  // Packed from a copy, so the prepack step (which copies ../templates in) never touches this checkout.
  const source = temp.make("create-agent-pack-src-");
  cpSync(join(CHECKOUT, "templates"), join(source, "templates"), { recursive: true });
  cpSync(import.meta.dir, join(source, "create-agent"), { recursive: true, filter: (path) => !path.includes("node_modules") });
  const out = temp.make("create-agent-pack-out-");
  const packed = await run(["npm", "pack", "--silent", "--pack-destination", out], { cwd: join(source, "create-agent"), env });
  expect(packed.code).toBe(0);
  tarball = join(out, readdirSync(out).find((f) => f.endsWith(".tgz"))!);
}, 120_000);
afterAll(() => temp.cleanup());

describe("the packed @bunker/create-agent", () => {
  test("declares its runtime dependencies with the versions the checkout uses", () => {
    const own = JSON.parse(readFileSync(join(import.meta.dir, "package.json"), "utf8"));
    const root = JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8"));
    for (const [name, version] of Object.entries(own.dependencies as Record<string, string>)) expect(version).toBe(root.dependencies[name]);
    expect(Object.keys(own.dependencies).sort()).toEqual(["@sinclair/typebox", "yaml"]);
  });

  test("installs into an empty directory and scaffolds a project whose install and tests pass", async () => {
    const app = temp.make("create-agent-pack-install-");
    const installed = await run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: app, env });
    expect(installed.stderr).not.toContain("ERR!");
    expect(installed.code).toBe(0);
    const bin = join(app, "node_modules", ".bin", "create-agent");
    expect(existsSync(bin)).toBe(true);
    expect(existsSync(join(app, "node_modules", "@bunker", "create-agent", "cli"))).toBe(false);

    const projects = temp.make("create-agent-pack-projects-");
    const created = await run(
      [bin, "packed-agent", "--template", "basic", "--no-interactive", "--no-git", "--no-install", "--bunker", `link:${CHECKOUT}`, "--json"],
      { cwd: projects, env },
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const dir = join(projects, "packed-agent");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies.bunker).toBe(`link:${CHECKOUT}`);

    const install = await run([process.execPath, "install"], { cwd: dir, env });
    expect(install.code).toBe(0);
    const tests = await run([process.execPath, "test", "--timeout", "60000"], { cwd: dir, env });
    if (tests.code !== 0) throw new Error(`bun test failed in the scaffolded project:\n${tests.stdout}\n${tests.stderr}`);
    expect(tests.stderr).toMatch(/\d+ pass\s+0 fail/);
  }, 180_000);
});
