// The LiteBoxd API end to end over a real port, driven by the typed client (and raw fetch for wire details).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import { BadRequestError, ConflictError, LiteBoxdClient, NotFoundError, SandboxFailedError, type TemplateSpec } from "./client";
import liteboxd from "./index";
import { eventually } from "../../test/support/eventually";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-api-"));
let bunker: Bunker;
let client: LiteBoxdClient;
let api: string;

const boot = async () => {
  const b = await createBunker({
    builtins: false,
    plugins: [liteboxd],
    config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { cleanupIntervalMs: 100, maxExecOutputBytes: 4096 } } },
  });
  await b.listen();
  return b;
};

beforeAll(async () => {
  bunker = await boot();
  api = `${bunker.baseUrl}/api/v1`;
  client = new LiteBoxdClient({ baseUrl: api });
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const fast = { periodSeconds: 0 };
async function templateWith(name: string, spec: Partial<TemplateSpec> = {}) {
  await client.template.create({ name, spec: { image: "host", ...spec } });
}
const ready = (id: string) => client.sandbox.waitForReady(id, { pollIntervalMs: 10, timeoutMs: 30_000 });

const deleted = (id: string) => client.sandbox.get(id).then(() => false, (e) => e instanceof NotFoundError);

describe("a sandbox's whole life through the client", () => {
  test("create from a template, wait for running, exec, logs, files, delete", async () => {
    await templateWith("life", {
      command: ["sh", "-c", "echo main says hi; for i in 1 2 3 4 5; do echo line $i; done; sleep 1000"],
      env: { GREETING: "hello" },
      startupScript: "echo prepared > /workspace/prepared.txt",
      readinessProbe: { exec: { command: ["test", "-f", "/workspace/prepared.txt"] }, ...fast },
      files: [{ destination: "/workspace/config.json", content: '{"ok":true}' }],
    });
    const created = await client.sandbox.create("life", { overrides: { env: { EXTRA: "1" }, ttl: 600 } });
    expect(created.id).toMatch(/^[0-9a-f]{8}$/);
    expect(created.status).toBe("pending");
    expect(created.accessToken).toBeString();
    expect(created.accessUrl).toBe(`${api}/sandbox/${created.id}`);
    expect(created.env).toEqual({ GREETING: "hello", EXTRA: "1" });

    const sandbox = await ready(created.id);
    expect(sandbox.status).toBe("running");
    expect(sandbox.templateVersion).toBe(1);
    expect(sandbox.accessToken).toBeUndefined();

    const r = await client.sandbox.execute(sandbox.id, ["sh", "-c", "cat /workspace/config.json; echo $GREETING $EXTRA $ONE; pwd"], { env: { ONE: "x" }, cwd: "/tmp" });
    expect(r).toEqual({ exit_code: 0, stdout: '{"ok":true}hello 1 x\n/tmp\n', stderr: "", timed_out: false, truncated: false });

    const failing = await client.sandbox.execute(sandbox.id, ["sh", "-c", "echo oops >&2; exit 3"]);
    expect(failing.exit_code).toBe(3);
    expect(failing.stderr).toBe("oops\n");

    const logs = await eventually(async () => {
      const l = await client.sandbox.getLogs(sandbox.id);
      return l.logs.includes("line 5") && l;
    }, "the fifth line in the logs");
    expect(logs.logs).toStartWith("main says hi\n");
    expect(logs.events.some((e) => e.startsWith("[Normal] Started: "))).toBe(true);
    expect(logs.events).toContain("[Normal] Ready: readiness probe passed");
    expect((await client.sandbox.getLogs(sandbox.id, { tail: 2 })).logs).toBe("line 4\nline 5\n");

    const payload = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251);
    await client.sandbox.uploadFile(sandbox.id, "/workspace/data/blob.bin", payload);
    expect(await client.sandbox.downloadFile(sandbox.id, "/workspace/data/blob.bin")).toEqual(payload);
    const sum = await client.sandbox.execute(sandbox.id, ["stat", "-c", "%s", "/workspace/data/blob.bin"]);
    expect(sum.stdout.trim()).toBe(String(payload.length));

    expect((await client.sandbox.list()).map((s) => s.id)).toContain(sandbox.id);
    await client.sandbox.delete(sandbox.id);
    const terminating = await client.sandbox.get(sandbox.id).catch(() => undefined);
    if (terminating) expect(terminating.status).toBe("terminating");
    await eventually(() => deleted(sandbox.id), "the deletion");
    expect(existsSync(join(dataDir, "plugins", "liteboxd", "sandboxes", sandbox.id))).toBe(false);
  });

  test("the client pauses and resumes a sandbox; a paused one refuses exec with a ConflictError", async () => {
    await templateWith("pausable");
    const { id } = await ready((await client.sandbox.create("pausable")).id);
    expect((await client.sandbox.pause(id)).status).toBe("paused");
    const refused = await client.sandbox.execute(id, ["true"]).catch((e) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused.message).toContain("paused");
    expect((await client.sandbox.resume(id)).status).toBe("running");
    expect((await client.sandbox.execute(id, ["echo", "back"])).stdout).toBe("back\n");
    await client.sandbox.delete(id);
  });

  test("a file part sent before its path part still lands in the sandbox", async () => {
    await templateWith("files-order");
    const { id } = await ready((await client.sandbox.create("files-order")).id);
    const form = new FormData();
    form.append("file", new Blob(["file first"]), "x.txt");
    form.append("path", "/tmp/x.txt");
    const res = await fetch(`${api}/sandboxes/${id}/files`, { method: "POST", body: form });
    expect(await res.json()).toEqual({ message: "file uploaded successfully" });
    expect(new TextDecoder().decode(await client.sandbox.downloadFile(id, "/tmp/x.txt"))).toBe("file first");
    await client.sandbox.delete(id);
  });

  test("exec reports timed_out when the timeout killed the command and truncated when output was cut", async () => {
    await templateWith("execs");
    const { id } = await ready((await client.sandbox.create("execs")).id);
    const slow = await client.sandbox.execute(id, ["sh", "-c", "(sleep 60 &); echo started; sleep 60"], { timeoutMs: 1000 });
    expect(slow.timed_out).toBe(true);
    expect(slow.stdout).toBe("started\n");
    const loud = await client.sandbox.execute(id, ["sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x"]);
    expect(loud.truncated).toBe(true);
    expect(loud.stdout.length).toBe(4096);
    const missing = await client.sandbox.execute(id, ["no-such-program"]);
    expect(missing.exit_code).toBe(127);
    await client.sandbox.delete(id);
  });

  test("a main process that ends moves the sandbox to succeeded", async () => {
    await templateWith("oneshot", { command: ["sh", "-c", "echo done"] });
    const { id } = await client.sandbox.create("oneshot");
    const s = await eventually(async () => {
      const x = await client.sandbox.get(id);
      return x.status === "succeeded" && x;
    }, "the sandbox to succeed");
    expect(s.status).toBe("succeeded");
    expect((await client.sandbox.getLogs(id)).logs).toBe("done\n");
  });
});

describe("startup failures", () => {
  test("a readiness probe that keeps failing marks the sandbox failed with the reason", async () => {
    await templateWith("never-ready", { readinessProbe: { exec: { command: ["false"] }, periodSeconds: 0, failureThreshold: 2 } });
    const { id } = await client.sandbox.create("never-ready");
    const error = await ready(id).catch((e) => e);
    expect(error).toBeInstanceOf(SandboxFailedError);
    const s = await client.sandbox.get(id);
    expect(s.status).toBe("failed");
    expect(s.status_reason).toContain("readiness probe failed 2 times");
  });

  test("a startup script that outlives startupTimeout fails the sandbox", async () => {
    await templateWith("slow-start", { startupScript: "sleep 30", startupTimeout: 1 });
    const { id } = await client.sandbox.create("slow-start");
    await ready(id).catch(() => undefined);
    const s = await client.sandbox.get(id);
    expect(s.status).toBe("failed");
    expect(s.status_reason).toContain("startup did not finish within 1s");
  });
});

describe("templates, versions and rollback", () => {
  test("update creates versions, rollback copies an old spec into a new version", async () => {
    await client.template.create({ name: "versioned", displayName: "V", tags: ["a"], spec: { image: "host", env: { V: "1" } } });
    const v2 = await client.template.update("versioned", { spec: { image: "host", env: { V: "2" } }, changelog: "second" });
    expect(v2.latestVersion).toBe(2);
    expect(v2.spec?.env).toEqual({ V: "2" });
    expect(v2.spec?.resources).toEqual({ cpu: "500m", memory: "512Mi" });
    const versions = await client.template.listVersions("versioned");
    expect(versions.total).toBe(2);
    expect(versions.items.map((v) => v.version)).toEqual([2, 1]);
    expect((await client.template.getVersion("versioned", 2)).changelog).toBe("second");
    const rb = await client.template.rollback("versioned", 1);
    expect(rb).toMatchObject({ name: "versioned", latestVersion: 3, rolledBackFrom: 2, rolledBackTo: 1 });
    expect((await client.template.get("versioned")).spec?.env).toEqual({ V: "1" });
    const listed = await client.template.list({ tag: "a", search: "vers" });
    expect(listed).toMatchObject({ total: 1, page: 1, pageSize: 20 });
    await client.template.delete("versioned");
    expect(await client.template.get("versioned").catch((e) => e)).toBeInstanceOf(NotFoundError);
  });

  test("a sandbox can be created from an older template version", async () => {
    await templateWith("pinned", { env: { V: "1" } });
    await client.template.update("pinned", { spec: { image: "host", env: { V: "2" } } });
    const { id, templateVersion } = await client.sandbox.create("pinned", { templateVersion: 1 });
    expect(templateVersion).toBe(1);
    await ready(id);
    expect((await client.sandbox.execute(id, ["sh", "-c", "echo $V"])).stdout).toBe("1\n");
    await client.sandbox.delete(id);
  });
});

describe("what LiteBoxd's Go SDK sends", () => {
  test("null for unset optional fields and templateVersion 0 (the latest) are accepted", async () => {
    const post = (path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const created = await post("/templates", { name: "go-sdk", displayName: null, description: null, tags: null, isPublic: null, spec: { image: "host" } });
    expect(created.status).toBe(201);
    // null means "not given": templates are private to their author unless isPublic is true (WIRE.md, "Owners").
    expect(await created.json()).toMatchObject({ name: "go-sdk", tags: [], isPublic: false });
    const sandbox = await post("/sandboxes", { template: "go-sdk", templateVersion: 0 });
    expect(sandbox.status).toBe(201);
    const { id, templateVersion } = (await sandbox.json()) as { id: string; templateVersion: number };
    expect(templateVersion).toBe(1);
    await client.sandbox.delete(id);
  });
});

describe("errors in LiteBoxd's shapes", () => {
  test("template routes answer {error:{code,message}}, sandbox routes {error:msg}", async () => {
    await templateWith("dupe");
    const dupe = await fetch(`${api}/templates`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "dupe", spec: { image: "host" } }) });
    expect(dupe.status).toBe(409);
    expect(await dupe.json()).toEqual({ error: { code: "TEMPLATE_EXISTS", message: "template dupe already exists" } });
    const invalid = await fetch(`${api}/templates`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "x" }) });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
    const missing = await fetch(`${api}/sandboxes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ template: "nope" }) });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "template nope not found" });
    const badExec = await fetch(`${api}/sandboxes/zzzzzzzz/exec`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ command: [] }) });
    expect(badExec.status).toBe(400);
    expect(typeof ((await badExec.json()) as { error: unknown }).error).toBe("string");
  });

  test("the shapes stay apart when both kinds of request arrive at once", async () => {
    const post = (path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ error: unknown }>);
    const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? post("/templates", { name: "x" }) : post("/sandboxes", { template: 1 }))));
    bodies.forEach((b, i) => expect([i % 2, typeof b.error]).toEqual([i % 2, i % 2 ? "object" : "string"]));
  });

  test("the client maps statuses to the seed's error classes", async () => {
    expect(await client.template.create({ name: "dupe", spec: { image: "host" } }).catch((e) => e)).toBeInstanceOf(ConflictError);
    expect(await client.sandbox.get("00000000").catch((e) => e)).toBeInstanceOf(NotFoundError);
  });

  test("allowedDomains and invalid image references are refused with a clear 400", async () => {
    await templateWith("domains", { network: { allowInternetAccess: true, allowedDomains: ["example.com"] } });
    const e1 = await client.sandbox.create("domains").catch((e) => e);
    expect(e1).toBeInstanceOf(BadRequestError);
    expect(e1.message).toContain("allowedDomains");
    await client.template.create({ name: "bad-image", spec: { image: "Not An Image!" } });
    const e2 = await client.sandbox.create("bad-image").catch((e) => e);
    expect(e2).toBeInstanceOf(BadRequestError);
    expect(e2.message).toContain("not a valid OCI reference");
  });
});

describe("prepull", () => {
  test("host and rootfs-less images complete or fail at once, never hang", async () => {
    const task = await client.prepull.create("host");
    expect(task.status).toBe("completed");
    expect((await client.prepull.waitForCompletion(task.id, { pollIntervalMs: 10 })).status).toBe("completed");
    expect((await client.prepull.list({ image: "host" })).map((t) => t.id)).toContain(task.id);
    await templateWith("pre");
    expect((await client.prepull.createForTemplate("pre")).template).toBe("pre");
    const bad = await fetch(`${api}/images/prepull`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ image: "ubuntu 24.04!" }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
    const emptyRoot = mkdtempSync(join(tmpdir(), "liteboxd-rootfs-"));
    const noPython = await client.prepull.create(emptyRoot).catch((e) => e);
    expect(noPython.message).toContain("no /usr/bin/python3");
    rmSync(emptyRoot, { recursive: true });
    await client.prepull.delete(task.id);
    expect(await client.prepull.delete(task.id).catch((e) => e)).toBeInstanceOf(NotFoundError);
  });
});

describe("expiry and restarts", () => {
  test("the TTL cleaner deletes an expired sandbox; ttl 0 never expires", async () => {
    await templateWith("short", { ttl: 1 });
    await templateWith("forever", { ttl: 0 });
    const short = await client.sandbox.create("short");
    const forever = await client.sandbox.create("forever");
    expect(forever.expires_at).toBe("9999-12-31T23:59:59Z");
    await eventually(() => deleted(short.id), "the expired sandbox's deletion", 15_000);
    expect((await client.sandbox.get(forever.id)).status).not.toBe("terminating");
    await client.sandbox.delete(forever.id);
  });

  test("sandboxes left by a previous server run are cleaned up at boot", async () => {
    await templateWith("survivor", { ttl: 0 });
    const { id } = await ready((await client.sandbox.create("survivor")).id);
    await bunker.stop();
    bunker = await boot();
    api = `${bunker.baseUrl}/api/v1`;
    client = new LiteBoxdClient({ baseUrl: api });
    await eventually(() => deleted(id), "the left-over sandbox's deletion");
    expect(readdirSync(join(dataDir, "plugins", "liteboxd", "sandboxes"))).not.toContain(id);
    expect((await client.template.get("survivor")).name).toBe("survivor");
  });
});
