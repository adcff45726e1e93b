// Size caps and resource ceilings on what the LiteBoxd routes accept (issue 17): oversized imports, metadata, env maps,
// files, strings and arrays are refused with the field or limit named; echoed values are cut; cpu and memory above the
// host's capacity or the configured maxima are a 400 naming the limit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "./index";
import { createResourceCeiling, HOST_CPU_CORES, HOST_MEMORY_MIB } from "./resource-ceiling";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-limits-"));
const MAX_FILES_BYTES = 64 * 1024;
const MAX_EXPORT_BYTES = 64 * 1024;
let bunker: Bunker;
let api: string;

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false, plugins: [liteboxd],
    config: {
      dataDir, log: { level: "silent" }, server: { port: 0 },
      plugins: { liteboxd: { warmPool: 0, maxTemplateFilesBytes: MAX_FILES_BYTES, maxExportBytes: MAX_EXPORT_BYTES, maxSandboxCpu: "1", maxSandboxMemory: "1Gi" } },
    },
  });
  await bunker.listen();
  api = `${bunker.baseUrl}/api/v1`;
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
async function refused(res: Response, status: number, mentions: string) {
  const text = await res.text();
  expect({ status: res.status, mentions: text.includes(mentions), text: text.slice(0, 300) }).toEqual({ status, mentions: true, text: text.slice(0, 300) });
  return text;
}
const template = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => post("/templates", { name, ...extra, spec: { image: "host", ...spec } });

describe("the YAML import body", () => {
  const multipart = (size: number) => {
    const boundary = "cap";
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="t.yaml"\r\n\r\n`;
    return { boundary, body: Buffer.concat([Buffer.from(head), Buffer.alloc(size, "#"), Buffer.from(`\r\n--${boundary}--\r\n`)]) };
  };

  test("a 60 MB import is refused with 413 from its Content-Length, before it is read or parsed", async () => {
    const { boundary, body } = multipart(60 * 1024 * 1024);
    const res = await fetch(`${api}/templates/import`, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: "PAYLOAD_TOO_LARGE", message: "the import body is larger than 1048576 bytes (plugins.liteboxd.maxImportBytes)" } });
  });

  test("a chunked body without Content-Length is cut off at the cap as it streams", async () => {
    const { boundary, body } = multipart(2 * 1024 * 1024);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.length; at += 64 * 1024) controller.enqueue(body.subarray(at, at + 64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${api}/templates/import`, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body: stream });
    expect(res.status).toBe(413);
  });

  test("an import under the cap still works", async () => {
    const form = new FormData();
    form.append("file", new Blob(["apiVersion: liteboxd/v1\nkind: SandboxTemplate\nmetadata:\n  name: small-import\nspec:\n  image: host\n"]));
    expect(((await (await fetch(`${api}/templates/import`, { method: "POST", body: form })).json()) as { created: number }).created).toBe(1);
  });
});

describe("template specs", () => {
  test("metadata above 64 KiB serialized is refused, naming spec.metadata", async () => {
    await refused(await template("big-metadata", { metadata: { blob: "x".repeat(65 * 1024) } }), 400, "spec.metadata");
    expect((await template("ok-metadata", { metadata: { blob: "x".repeat(60 * 1024) } })).status).toBe(201);
  });

  test("metadata nested deeper than 32 levels is refused, naming spec.metadata", async () => {
    let deep: unknown = {};
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    await refused(await template("deep-metadata", { metadata: { deep } }), 400, "spec.metadata");
  });

  test("env maps are capped in entries, name and value size, and names cannot hold '='", async () => {
    const many = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`V${i}`, "1"]));
    await refused(await template("env-many", { env: many }), 400, "spec.env");
    await refused(await template("env-long", { env: { BIG: "x".repeat(128 * 1024 + 1) } }), 400, "spec.env.BIG");
    await refused(await template("env-eq", { env: { "A=B": "1" } }), 400, "spec.env");
    await refused(await post("/sandboxes", { template: "ok-metadata", overrides: { env: { BIG: "x".repeat(128 * 1024 + 1) } } }), 400, "overrides.env.BIG");
  });

  test("files are capped in total content (plugins.liteboxd.maxTemplateFilesBytes) and in count", async () => {
    const file = (n: number, size: number) => ({ destination: `/workspace/f${n}`, content: "x".repeat(size) });
    await refused(await template("files-big", { files: [file(1, MAX_FILES_BYTES / 2), file(2, MAX_FILES_BYTES / 2 + 1)] }), 400, "plugins.liteboxd.maxTemplateFilesBytes");
    const base64 = Buffer.alloc(MAX_FILES_BYTES + 1).toString("base64");
    await refused(await template("files-b64", { files: [{ destination: "/workspace/b", content: base64, encoding: "base64" }] }), 400, "maxTemplateFilesBytes");
    await refused(await template("files-many", { files: Array.from({ length: 10_001 }, (_, n) => file(n, 1)) }), 400, "spec.files");
    expect((await template("files-ok", { files: [file(1, MAX_FILES_BYTES)] })).status).toBe(201);
  });

  test("strings and arrays have maxima", async () => {
    await refused(await template("long-description", {}, { description: "d".repeat(16 * 1024 + 1) }), 400, "description");
    await refused(await template("long-script", { startupScript: "#".repeat(1024 * 1024 + 1) }), 400, "spec.startupScript");
    await refused(await template("long-image", { image: "i".repeat(4097) }), 400, "spec.image");
    await refused(await template("many-args", { command: Array.from({ length: 4097 }, () => "a") }), 400, "spec.command");
    await refused(await template("many-tags", {}, { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }), 400, "tags");
    await refused(await template("huge-ttl", { ttl: 1e300 }), 400, "spec.ttl");
    await refused(await post("/sandboxes/nope1234/exec", { command: ["true"], cwd: "/".repeat(4097) }), 400, "cwd");
  });
});

describe("echoed values", () => {
  test("an unknown template name (kilobytes in the URL, megabytes in a body) never comes back whole", async () => {
    const name = "n".repeat(8_000); // Bun answers 431 to longer request lines itself
    const get = await fetch(`${api}/templates/${name}`);
    const text = await refused(get, 404, "n".repeat(256) + "…");
    expect(text.length).toBeLessThan(400);
    const export_ = await fetch(`${api}/templates/${name}/export`);
    expect((await export_.text()).length).toBeLessThan(400);
    const sandbox = await post("/sandboxes", { template: "n".repeat(5_000_000) });
    expect(sandbox.status).toBe(400);
    expect((await sandbox.text()).length).toBeLessThan(1000);
  });

  test("other values a caller sends in a URL are cut the same way", async () => {
    const version = await fetch(`${api}/templates/ok-metadata/versions/${"9".repeat(8_000)}`);
    expect(version.status).toBe(400);
    expect((await version.text()).length).toBeLessThan(400);
    const task = await fetch(`${api}/images/prepull/${"p".repeat(8_000)}`);
    expect(task.status).toBe(404);
    expect((await task.text()).length).toBeLessThan(400);
    const sandbox = await fetch(`${api}/sandboxes/${"s".repeat(8_000)}`);
    expect(sandbox.status).toBe(404);
    expect((await sandbox.text()).length).toBeLessThan(400);
  });
});

describe("cpu and memory ceilings", () => {
  test("overrides above the configured maxima are a 400 naming the config key", async () => {
    await refused(await post("/sandboxes", { template: "ok-metadata", overrides: { cpu: "1500m" } }), 400, "plugins.liteboxd.maxSandboxCpu");
    await refused(await post("/sandboxes", { template: "ok-metadata", overrides: { memory: "2Gi" } }), 400, "plugins.liteboxd.maxSandboxMemory");
  });

  test("template resources above the maxima are refused when the template is stored", async () => {
    await refused(await template("too-much", { resources: { cpu: "2", memory: "512Mi" } }), 400, "maxSandboxCpu");
    await refused(await template("too-much", { resources: { memory: "100Gi" } }), 400, "maxSandboxMemory");
  });

  test("a memory below the 16Mi floor is refused when the template is stored, not by every sandbox made from it", async () => {
    await refused(await template("tiny-memory", { resources: { memory: "1Mi" } }), 400, "memory must be at least 16Mi");
    expect((await template("tiny-later", {})).status).toBe(201);
    const put = await fetch(`${api}/templates/tiny-later`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ spec: { image: "host", resources: { memory: "1Mi" } } }) });
    await refused(put, 400, "memory must be at least 16Mi");
  });

  test("without configured maxima the host's capacity is the limit, and a maximum above it does not raise it", () => {
    const host = createResourceCeiling();
    expect([host.cpuCores, host.memoryMiB]).toEqual([HOST_CPU_CORES, HOST_MEMORY_MIB]);
    expect(() => host.check({ cpu: String(HOST_CPU_CORES + 1) })).toThrow(`the host's ${HOST_CPU_CORES} cores`);
    expect(() => host.check({ memory: `${HOST_MEMORY_MIB + 1}Mi` })).toThrow("the host's memory");
    expect(() => host.check({ cpu: String(HOST_CPU_CORES), memory: `${HOST_MEMORY_MIB}Mi` })).not.toThrow();
    const generous = createResourceCeiling({ maxSandboxCpu: "100000", maxSandboxMemory: "100Pi" });
    expect([generous.cpuCores, generous.memoryMiB]).toEqual([HOST_CPU_CORES, HOST_MEMORY_MIB]);
    expect(() => generous.check({ memory: "100Ti" })).toThrow("the host's memory");
    expect(() => createResourceCeiling({ maxSandboxMemory: "lots" })).toThrow("plugins.liteboxd.maxSandboxMemory");
  });
});

describe("lists and exports of templates with large files", () => {
  const big = (name: string) => template(name, { files: [{ destination: "/workspace/big.txt", content: "x".repeat(40 * 1024) }] }, { tags: ["export-cap"] });

  test("lists show each file's size instead of its content; the template itself and each version keep it", async () => {
    expect((await big("big-a")).status).toBe(201);
    const list = (await (await fetch(`${api}/templates?search=big-a`)).json()) as { items: Array<{ name: string; spec: { image: string; files: unknown[] } }> };
    expect(list.items.map((t) => t.name)).toEqual(["big-a"]);
    expect(list.items[0]!.spec).toMatchObject({ image: "host", files: [{ destination: "/workspace/big.txt", size: 40 * 1024 }] });
    expect(JSON.stringify(list.items[0]!.spec.files[0])).not.toContain("xxx");
    const versions = (await (await fetch(`${api}/templates/big-a/versions`)).json()) as { items: Array<{ spec: { files: unknown[] } }> };
    expect(versions.items[0]!.spec.files).toEqual([{ destination: "/workspace/big.txt", size: 40 * 1024 }]);
    const whole = (await (await fetch(`${api}/templates/big-a`)).json()) as { spec: { files: Array<{ content: string }> } };
    expect(whole.spec.files[0]!.content).toHaveLength(40 * 1024);
    const version = (await (await fetch(`${api}/templates/big-a/versions/1`)).json()) as { spec: { files: Array<{ content: string }> } };
    expect(version.spec.files[0]!.content).toHaveLength(40 * 1024);
  });

  test("an export of many templates past plugins.liteboxd.maxExportBytes is 413; a smaller selection is not", async () => {
    expect((await big("big-b")).status).toBe(201);
    const all = await fetch(`${api}/templates/export?tag=export-cap`);
    expect(all.status).toBe(413);
    expect(((await all.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining("plugins.liteboxd.maxExportBytes") });
    const one = await fetch(`${api}/templates/export?names=big-b`);
    expect(one.status).toBe(200);
    expect(await one.text()).toContain("x".repeat(1000));
  });
});
