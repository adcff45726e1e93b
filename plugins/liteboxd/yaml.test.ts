// Template YAML export → import round trips over a real port, with each import strategy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { createBunker, type Bunker } from "bunker/core";
import { LiteBoxdClient } from "./client";
import liteboxd from "./index";

const dirs: string[] = [];
const servers: Bunker[] = [];
async function server(): Promise<LiteBoxdClient> {
  const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-yaml-"));
  dirs.push(dataDir);
  const b = await createBunker({ builtins: false, plugins: [liteboxd], config: { dataDir, log: { level: "silent" }, server: { port: 0 } } });
  await b.listen();
  servers.push(b);
  return new LiteBoxdClient({ baseUrl: `${b.baseUrl}/api/v1` });
}

let source: LiteBoxdClient;
let exported: string;
const spec = {
  image: "host",
  command: ["python3", "-m", "http.server"],
  resources: { cpu: "250m", memory: "256Mi" },
  ttl: 120,
  env: { MODE: "test" },
  startupScript: "echo hi",
  startupTimeout: 60,
  readinessProbe: { exec: { command: ["true"] }, initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 2 },
  network: { allowInternetAccess: false },
  files: [{ destination: "/workspace/a.txt", content: "A" }],
};

beforeAll(async () => {
  source = await server();
  await source.template.create({ name: "alpha", displayName: "Alpha", description: "first", tags: ["ml"], spec });
  await source.template.create({ name: "beta", tags: ["web"], spec: { image: "host" } });
  exported = await source.importExport.exportAll();
});
afterAll(async () => {
  for (const b of servers) await b.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("export", () => {
  test("exportAll writes a SandboxTemplateList with camelCase specs", () => {
    const doc = parse(exported);
    expect(doc.apiVersion).toBe("liteboxd/v1");
    expect(doc.kind).toBe("SandboxTemplateList");
    expect(Date.parse(doc.exportedAt)).not.toBeNaN();
    expect(doc.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["alpha", "beta"]);
    expect(doc.items[0]).toEqual({ apiVersion: "liteboxd/v1", kind: "SandboxTemplate", metadata: { name: "alpha", displayName: "Alpha", description: "first", tags: ["ml"] }, spec });
  });

  test("a single template exports as one SandboxTemplate, filters by tag and names work", async () => {
    expect(parse(await source.template.exportYaml("alpha")).kind).toBe("SandboxTemplate");
    expect(parse(await source.importExport.exportAll({ tag: "web" })).items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["beta"]);
    expect(parse(await source.importExport.exportAll({ names: ["alpha"] })).items).toHaveLength(1);
  });
});

describe("import strategies", () => {
  test("create-or-update into an empty server recreates the same templates and specs", async () => {
    const target = await server();
    const result = await target.importExport.importTemplates(exported);
    expect(result).toMatchObject({ total: 2, created: 2, updated: 0, skipped: 0, failed: 0 });
    expect((await target.template.get("alpha")).spec).toEqual(spec);
    expect(parse(await target.importExport.exportAll()).items).toEqual(parse(exported).items);
  });

  test("create-only skips what exists and creates what is new", async () => {
    const target = await server();
    await target.template.create({ name: "alpha", spec: { image: "host" } });
    const result = await target.importExport.importTemplates(exported, { strategy: "create-only" });
    expect(result).toMatchObject({ total: 2, created: 1, skipped: 1, updated: 0 });
    expect(result.results).toContainEqual({ name: "alpha", action: "skipped" });
    expect((await target.template.get("alpha")).latestVersion).toBe(1);
  });

  test("update-only adds a version to what exists and skips what is new", async () => {
    const target = await server();
    await target.template.create({ name: "alpha", spec: { image: "host" } });
    const result = await target.importExport.importTemplates(exported, { strategy: "update-only" });
    expect(result).toMatchObject({ total: 2, created: 0, updated: 1, skipped: 1 });
    expect(result.results).toContainEqual({ name: "alpha", action: "updated", version: 2 });
    expect((await target.template.getVersion("alpha", 2)).changelog).toBe("Imported from YAML");
    expect((await target.template.get("alpha")).spec).toEqual(spec);
  });

  test("one bad template fails alone; prepull starts for the images imported", async () => {
    const target = await server();
    const yaml = `apiVersion: liteboxd/v1\nkind: SandboxTemplateList\nitems:\n  - apiVersion: liteboxd/v1\n    kind: SandboxTemplate\n    metadata: {name: Bad_Name}\n    spec: {image: host}\n  - apiVersion: liteboxd/v1\n    kind: SandboxTemplate\n    metadata: {name: good}\n    spec: {image: host}\n`;
    const result = await target.importExport.importTemplates(yaml, { autoPrepull: true });
    expect(result).toMatchObject({ total: 2, created: 1, failed: 1, prepullStarted: ["host"] });
    expect(result.results[0]!.action).toBe("failed");
  });

  test("a single SandboxTemplate document imports too; other kinds and broken YAML are INVALID_YAML", async () => {
    const target = await server();
    expect((await target.importExport.importTemplates(await source.template.exportYaml("beta"))).created).toBe(1);
    for (const text of ["kind: Pod\nmetadata: {name: x}\n", "items: [unclosed"]) {
      const error = await target.importExport.importTemplates(text).catch((e) => e);
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe("INVALID_YAML");
    }
  });
});
