// The service methods other plugins build on: pause/resume, interactive processes with a PTY, access tokens, events,
// status watching, and the liteboxd.templates service with Bunker's spec extensions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bunker, BunkerServices } from "bunker/core";
import { startWithServices } from "./testdata/with-services";
import type { InteractiveProcess } from "./drivers/types";
import { eventually } from "../../test/support/eventually";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-additions-"));
let bunker: Bunker;
let sandboxes: BunkerServices["liteboxd.sandboxes"];
let templates: BunkerServices["liteboxd.templates"];
const OWNER = "alice";

beforeAll(async () => {
  ({ bunker, sandboxes, templates } = await startWithServices(dataDir, { warmPool: 1 }));
  await templates.create({ name: "plain", spec: { image: "host" } }, OWNER);
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function readAll(p: InteractiveProcess, until?: (text: string) => boolean): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const reader = p.output.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out[value.stream] += new TextDecoder().decode(value.data);
    if (until?.(out.stdout)) {
      reader.releaseLock();
      break;
    }
  }
  return out;
}

async function fresh(template = "plain") {
  const { id } = await sandboxes.create({ template }, OWNER);
  await sandboxes.waitForReady(id, OWNER, 30_000);
  return id;
}


describe("interactive processes", () => {
  test("a piped process gets stdin and reports stdout, stderr and its exit code separately", async () => {
    const id = await fresh();
    const p = await sandboxes.execInteractive(id, OWNER, { command: ["sh", "-c", "read line; echo got:$line; echo oops >&2; exit 3"], tty: false });
    p.write("hello\n");
    const out = await readAll(p);
    expect(out.stdout).toBe("got:hello\n");
    expect(out.stderr).toBe("oops\n");
    expect(await p.exited).toBe(3);
    await sandboxes.remove(id, OWNER);
  });

  test("with tty a process runs on a real terminal whose size follows resize", async () => {
    const id = await fresh();
    const p = await sandboxes.execInteractive(id, OWNER, { command: ["sh"], tty: true, cols: 100, rows: 30 });
    p.write("stty size; tty\n");
    let seen = await readAll(p, (s) => /\/dev\/pts\/\d+/.test(s));
    expect(seen.stdout).toContain("30 100");
    p.resize(132, 43);
    p.write("stty size\n");
    seen = await readAll(p, (s) => s.includes("43 132"));
    expect(seen.stdout).toContain("43 132");
    p.write("exit 5\n");
    await readAll(p);
    expect(await p.exited).toBe(5);
    await sandboxes.remove(id, OWNER);
  });

  test("kill ends the whole process group", async () => {
    const id = await fresh();
    const p = await sandboxes.execInteractive(id, OWNER, { command: ["sh", "-c", "sleep 300 & sleep 300"], tty: false });
    p.kill();
    expect(await p.exited).toBe(137);
    const r = await sandboxes.exec(id, { command: ["sh", "-c", "ps -eo comm | grep -c sleep || true"] }, OWNER);
    expect(r.stdout.trim()).toBe("0");
    await sandboxes.remove(id, OWNER);
  });
});

describe("pause and resume", () => {
  test("a paused sandbox's counter stops advancing and runs on after resume; exec is refused meanwhile", async () => {
    await templates.create({ name: "counter", spec: { image: "host", command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /workspace/n; sleep 0.02; done"] } }, OWNER);
    const id = await fresh("counter");
    const read = async () => Number(await new Response((await sandboxes.download(id, "/workspace/n", OWNER)).body).text());
    await eventually(async () => (await read().catch(() => 0)) > 2, "the counter to start");
    expect((await sandboxes.pause(id, OWNER)).status).toBe("paused");
    await expect(sandboxes.exec(id, { command: ["true"] }, OWNER)).rejects.toThrow("paused");
    await expect(sandboxes.download(id, "/workspace/n", OWNER)).rejects.toThrow("paused");
    const n = Number(await Bun.file(join(dataDir, "plugins", "liteboxd", "sandboxes", id, "workspace", "n")).text());
    await Bun.sleep(300);
    expect(Number(await Bun.file(join(dataDir, "plugins", "liteboxd", "sandboxes", id, "workspace", "n")).text())).toBe(n);
    expect((await sandboxes.resume(id, OWNER)).status).toBe("running");
    await eventually(async () => (await read()) > n + 2, "the counter to advance again");
    await sandboxes.remove(id, OWNER);
  });

  test("a paused sandbox can still be deleted", async () => {
    const id = await fresh();
    await sandboxes.pause(id, OWNER);
    await sandboxes.remove(id, OWNER);
    await eventually(async () => !(await sandboxes.list(OWNER)).some((s) => s.id === id), "the deletion");
  });
});

describe("tokens, events and watching", () => {
  test("the access token is checked against its hash, and events and status changes reach observers", async () => {
    const seen: string[] = [];
    const stop = sandboxes.watch((s) => seen.push(`${s.id}:${s.status}:${s.owner}`));
    const created = await sandboxes.create({ template: "plain" }, OWNER);
    await sandboxes.waitForReady(created.id, OWNER, 30_000);
    expect(await sandboxes.verifyAccessToken(created.id, created.accessToken!)).toEqual({ owner: OWNER, status: "running" });
    expect(await sandboxes.verifyAccessToken(created.id, "wrong")).toBeNull();
    expect(await sandboxes.verifyAccessToken("nope1234", created.accessToken!)).toBeNull();

    sandboxes.recordEvent(created.id, "Normal", "SSHLogin", "user alice from 127.0.0.1");
    expect((await sandboxes.logs(created.id, OWNER)).events).toContain("[Normal] SSHLogin: user alice from 127.0.0.1");

    await sandboxes.remove(created.id, OWNER);
    await eventually(async () => seen.includes(`${created.id}:deleted:${OWNER}`), "the deleted notice");
    expect(seen).toContain(`${created.id}:pending:${OWNER}`);
    expect(seen).toContain(`${created.id}:running:${OWNER}`);
    expect(seen).toContain(`${created.id}:terminating:${OWNER}`);
    expect(await sandboxes.verifyAccessToken(created.id, created.accessToken!)).toBeNull();
    stop();
  });
});

describe("the liteboxd.templates service and spec extensions", () => {
  test("metadata is kept, base64 files arrive as bytes before the command starts, and an httpGet probe gates running", async () => {
    const bytes = new Uint8Array([0, 1, 2, 255, 254]);
    const created = await templates.create({
      name: "ext",
      spec: {
        image: "host",
        metadata: { owner: { team: "agents" }, n: 1 },
        // The command serves a file that must exist when it starts.
        command: ["sh", "-c", "test -f /workspace/site/index.html && exec python3 -m http.server 8081 --bind 127.0.0.1 --directory /workspace/site"],
        files: [
          { destination: "/workspace/site/index.html", content: "hi" },
          { destination: "/workspace/blob.bin", content: Buffer.from(bytes).toString("base64"), encoding: "base64" },
        ],
        readinessProbe: { httpGet: { path: "/index.html", port: 8081 }, periodSeconds: 0, failureThreshold: 200 },
      },
    }, OWNER);
    expect(created.spec?.metadata).toEqual({ owner: { team: "agents" }, n: 1 });
    expect(await templates.exists("ext", OWNER)).toBe(true);
    expect(await templates.exists("nope", OWNER)).toBe(false);
    expect((await templates.list({ search: "ext" }, OWNER)).items.map((t) => t.name)).toEqual(["ext"]);
    const id = await fresh("ext");
    const blob = new Uint8Array(await new Response((await sandboxes.download(id, "/workspace/blob.bin", OWNER)).body).arrayBuffer());
    expect(blob).toEqual(bytes);
    const target = await sandboxes.portTarget(id, 8081, OWNER);
    expect(await (await fetch(`http://${target.host}:${target.port}/index.html`)).text()).toBe("hi");
    await sandboxes.remove(id, OWNER);
    const updated = await templates.update("ext", { spec: { image: "host" }, changelog: "plain" }, OWNER);
    expect(updated.latestVersion).toBe(2);
    await templates.remove("ext", OWNER);
    expect(await templates.exists("ext", OWNER)).toBe(false);
  });
});
