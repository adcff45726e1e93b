// The `bunker` command end to end: a real server process, signals, and key management.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { eventually } from "../test/support/eventually";
import { startServer } from "../test/support/server";

const CLI = resolve(import.meta.dir, "cli.ts");
const HELLO = resolve(import.meta.dir, "../test/fixtures/hello-plugin/index.ts");
const tmp = mkdtempSync(join(tmpdir(), "bunker-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeConfig(dataDir: string, extra = ""): string {
  const file = join(dataDir, "bunker.yaml");
  writeFileSync(file, `server: { host: 127.0.0.1, port: 0, shutdownTimeoutMs: 5000 }\ndataDir: ${dataDir}\nbuiltins: false\nextraPlugins: ["${HELLO}"]\n${extra}`);
  return file;
}

function cli(args: string[], dataDir: string) {
  const p = Bun.spawnSync([process.execPath, CLI, ...args, "--config", writeConfig(dataDir)], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

describe("graceful drain on SIGTERM", () => {
  test("the in-flight request completes, a new one is refused, the process exits 0", async () => {
    const dir = mkdtempSync(join(tmp, "drain-"));
    const { proc, url, logs } = await startServer(["--config", writeConfig(dir)]);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const inFlight = fetch(`${url}/hello/slow?ms=1500`);
    await eventually(() => logs.some((l) => l.includes('"slow request started"')), "the slow request to reach its handler");
    proc.kill("SIGTERM");
    await eventually(() => logs.some((l) => l.includes('"msg":"draining"')), "the server to start draining");
    const late = await fetch(`${url}/hello/greet/late`).then((r) => r.status, () => "refused");
    expect([503, "refused"]).toContain(late);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slept: 1500 });
    expect(await proc.exited).toBe(0);
  }, 30_000);
});

describe("bunker keys", () => {
  test("create prints a key once, list never shows it, revoke stops it working", async () => {
    const dir = mkdtempSync(join(tmp, "keys-"));
    const created = cli(["keys", "create", "--user", "dana", "--name", "ci", "--json"], dir);
    expect(created.code).toBe(0);
    const { key, id, userId } = JSON.parse(created.out);
    expect(userId).toBe("dana");
    expect(key).toMatch(/^bk_[0-9a-f]{16}_/);
    const listed = cli(["keys", "list"], dir);
    expect(listed.out).toContain(id);
    // The whole secret: base64url may itself hold "_", so splitting on it could yield a fragment or nothing.
    expect(listed.out).not.toContain(key.slice("bk_".length + 16 + 1));

    const { proc, url } = await startServer(["--config", writeConfig(dir)]);
    try {
      expect((await fetch(`${url}/hello/greet/x`)).status).toBe(401);
      expect((await fetch(`${url}/hello/greet/x`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      expect(cli(["keys", "revoke", id], dir).code).toBe(0);
      expect((await fetch(`${url}/hello/greet/x`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    expect(cli(["keys", "revoke", id], dir).code).toBe(1);
  }, 30_000);

  test("help lists the commands plugins declare, with their plugin", () => {
    const p = Bun.spawnSync([process.execPath, CLI, "help"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BUNKER_CONFIG: "" } });
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString()).toMatch(/^ {2}agent +work with an agent project.*\(plugin agent-runtime\)$/m);
  });

  test("an invalid config stops the server with exit code 78 and a message naming the field", () => {
    const dir = mkdtempSync(join(tmp, "bad-"));
    const file = writeConfig(dir, "plugins:\n  hello: { maxNotes: 0 }\n");
    const p = Bun.spawnSync([process.execPath, CLI, "serve", "--config", file], { stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode).toBe(78);
    expect(p.stderr.toString()).toContain("plugins.hello.maxNotes");
  });
});
