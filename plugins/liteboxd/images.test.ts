// OCI images offline: a busybox image built from Debian's busybox-static, prepulled from an OCI archive with layer
// progress, sandboxes started from the shared cached rootfs (read-only, own /workspace), and the cache entry removed
// once unused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "./index";
import { ociSource } from "./drivers/images";
import { buildBusyboxArchive } from "./testdata/busybox-image";
import { eventually } from "../../test/support/eventually";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-images-"));
const imageDir = join(dataDir, "plugins", "liteboxd", "images");
let bunker: Bunker;
let api: string;
let archive: string;

const json = (body: unknown, method = "POST") => ({ method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
type Task = { id: string; image: string; status: string; progress: { ready: number; total: number }; error?: string };

async function watchTask(id: string): Promise<Task[]> {
  const seen: Task[] = [];
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const task = (await (await fetch(`${api}/images/prepull/${id}`)).json()) as Task;
    if (JSON.stringify(seen.at(-1)) !== JSON.stringify(task)) seen.push(task);
    if (task.status === "completed" || task.status === "failed") return seen;
    await Bun.sleep(5);
  }
  throw new Error("prepull did not finish");
}

type SandboxState = { status: string; status_reason?: string };
const sandboxState = async (id: string) => (await (await fetch(`${api}/sandboxes/${id}`)).json()) as SandboxState;

async function running(id: string) {
  await eventually(async () => {
    const s = await sandboxState(id);
    if (s.status === "failed") throw new Error(`sandbox failed: ${s.status_reason}`);
    return s.status === "running";
  }, `sandbox ${id} to run`, 30_000);
}

const exec = async (id: string, command: string[]) =>
  (await (await fetch(`${api}/sandboxes/${id}/exec`, json({ command }))).json()) as { exit_code: number; stdout: string; stderr: string };

beforeAll(async () => {
  archive = await buildBusyboxArchive(mkdtempSync(join(tmpdir(), "liteboxd-bbimg-")));
  bunker = await createBunker({ builtins: false, plugins: [liteboxd], config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { warmPool: 0 } } } });
  await bunker.listen();
  api = `${bunker.baseUrl}/api/v1`;
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(join(archive, ".."), { recursive: true, force: true });
});

describe("image references", () => {
  test("registry names, archives and layouts map onto skopeo transports", () => {
    expect(ociSource("python:3.11-slim")).toBe("docker://docker.io/library/python:3.11-slim");
    expect(ociSource("ghcr.io/org/img:1")).toBe("docker://ghcr.io/org/img:1");
    expect(ociSource("org/img")).toBe("docker://docker.io/org/img");
    expect(ociSource("localhost:5000/img:2")).toBe("docker://localhost:5000/img:2");
    expect(ociSource("oci-archive:/images/x.tar:v1")).toBe("oci-archive:/images/x.tar:v1");
    expect(ociSource("host")).toBeUndefined();
    expect(ociSource("bad image;rm")).toBeUndefined();
  });
});

describe("local image paths", () => {
  test("an image may not be read from places sandboxes never see, nor from Bunker's data directory", async () => {
    for (const image of ["/root/img.tar", "oci-archive:/etc/ssh/x.tar", "oci:/home/someone/layout:latest", join(dataDir, "bunker.db")]) {
      const res = await fetch(`${api}/images/prepull`, json({ image }));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("may not be read from");
    }
  });
});

describe("prepull from an OCI archive", () => {
  test("reports layer progress to completion, refuses a second active prepull, and is listed", async () => {
    const res = await fetch(`${api}/images/prepull`, json({ image: archive }));
    expect(res.status).toBe(202);
    const task = (await res.json()) as Task;
    expect(task.status).toBe("pending");
    const again = await fetch(`${api}/images/prepull`, json({ image: archive }));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("PREPULL_IN_PROGRESS");
    const seen = await watchTask(task.id);
    const last = seen.at(-1)!;
    expect(last.status).toBe("completed");
    expect(last.progress).toEqual({ ready: 2, total: 2 });
    expect(seen.some((t) => t.status === "pulling")).toBe(true);
    const list = (await (await fetch(`${api}/images/prepull?image=${encodeURIComponent(archive)}`)).json()) as { items: Task[] };
    expect(list.items.map((t) => t.id)).toContain(task.id);
  });

  test("an archive that is not an image fails with the tool's error", async () => {
    const bogus = join(archive, "..", "bogus.tar");
    await Bun.write(bogus, "not a tar");
    const task = (await (await fetch(`${api}/images/prepull`, json({ image: bogus }))).json()) as Task;
    const last = (await watchTask(task.id)).at(-1)!;
    expect(last.status).toBe("failed");
    expect(last.error).toContain("skopeo");
  });
});

describe("sandboxes from a cached image", () => {
  test("two sandboxes share one cache entry, see the image read-only with their own workspace, and the entry goes when unused", async () => {
    expect((await fetch(`${api}/templates`, json({ name: "busybox", spec: { image: archive, env: { FROM: "template" } } }))).status).toBe(201);
    const a = (await (await fetch(`${api}/sandboxes`, json({ template: "busybox" }))).json()) as { id: string };
    const b = (await (await fetch(`${api}/sandboxes`, json({ template: "busybox" }))).json()) as { id: string };
    await Promise.all([running(a.id), running(b.id)]);
    expect(readdirSync(imageDir).filter((n) => !n.startsWith("tmp-"))).toHaveLength(1);

    const r = await exec(a.id, ["sh", "-c", "cat /etc/hello; echo $IMAGE_FLAVOUR $FROM; ls /usr/bin/python3 2>&1; id -u"]);
    expect(r.stdout).toContain("from the busybox image\nbusybox template\n");
    expect(r.stdout).toContain("No such file");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("65534");
    expect((await exec(a.id, ["sh", "-c", "echo x > /etc/hello"])).exit_code).not.toBe(0);
    // Nothing of the host but the read-only /usr the supervisor runs on; no host secrets, no host processes.
    expect((await exec(a.id, ["ls", "/.bunker/host"])).stdout).toBe("usr\n");
    expect((await exec(a.id, ["sh", "-c", "ls /root /home /etc/shadow 2>&1"])).exit_code).not.toBe(0);
    expect((await exec(a.id, ["sh", "-c", "echo x > /.bunker/host/usr/x"])).exit_code).not.toBe(0);
    expect((await exec(a.id, ["sh", "-c", "echo mine > /workspace/f && cat /workspace/f"])).stdout).toBe("mine\n");
    expect((await exec(b.id, ["cat", "/workspace/f"])).exit_code).not.toBe(0);

    // Deleting the prepull tasks while sandboxes use the image keeps the cache entry.
    const tasks = ((await (await fetch(`${api}/images/prepull?image=${encodeURIComponent(archive)}`)).json()) as { items: Task[] }).items;
    for (const t of tasks) expect((await fetch(`${api}/images/prepull/${t.id}`, { method: "DELETE" })).status).toBe(204);
    expect(readdirSync(imageDir)).toHaveLength(1);
    expect((await exec(b.id, ["cat", "/etc/hello"])).stdout).toBe("from the busybox image\n");

    await fetch(`${api}/sandboxes/${a.id}`, { method: "DELETE" });
    await fetch(`${api}/sandboxes/${b.id}`, { method: "DELETE" });
    await eventually(async () => (await (await fetch(`${api}/sandboxes`)).json()).items.length === 0, "both deletions");
    // Unused now: a new prepull and its deletion remove the entry.
    const task = (await (await fetch(`${api}/images/prepull`, json({ image: archive }))).json()) as Task;
    expect((await watchTask(task.id)).at(-1)!.status).toBe("completed");
    expect((await fetch(`${api}/images/prepull/${task.id}`, { method: "DELETE" })).status).toBe(204);
    expect(readdirSync(imageDir)).toHaveLength(0);
  });

  test("a pull that never answers fails the sandbox at startupTimeout", async () => {
    // A "registry" that accepts connections and never says a word.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const image = `127.0.0.1:${silent.port}/nothing:latest`;
      expect((await fetch(`${api}/templates`, json({ name: "silent", spec: { image, startupTimeout: 1 } }))).status).toBe(201);
      const { id } = (await (await fetch(`${api}/sandboxes`, json({ template: "silent" }))).json()) as { id: string };
      const s = await eventually(async () => {
        const current = await sandboxState(id);
        return current.status !== "pending" && current;
      }, "the startup to end", 15_000);
      expect(s.status).toBe("failed");
      expect(s.status_reason).toContain("startup did not finish within 1s");
      await fetch(`${api}/sandboxes/${id}`, { method: "DELETE" });
    } finally {
      silent.stop(true);
    }
  });

  test("a sandbox from an image not cached yet pulls it first and stays pending until then", async () => {
    expect(existsSync(imageDir) && readdirSync(imageDir).length).toBe(0);
    const res = await fetch(`${api}/sandboxes`, json({ template: "busybox" }));
    const created = (await res.json()) as { id: string; status: string };
    expect(created.status).toBe("pending");
    await running(created.id);
    expect((await exec(created.id, ["cat", "/etc/hello"])).stdout).toBe("from the busybox image\n");
    await fetch(`${api}/sandboxes/${created.id}`, { method: "DELETE" });
  });
});
