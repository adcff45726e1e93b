// LiteBoxd conformance for the template routes (issue 18, items 3, 4, 6, 7, 8; issue 15.7), driven with the request
// shapes LiteBoxd's own clients send: its Go SDK marshals `model.TemplateSpec` with `resources: {cpu, memory}` always
// present ("" when unset), `tags`/`isPublic` null, and lists with `?page=&pageSize=` (strconv.Itoa).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "./index";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-conformance-"));
let bunker: Bunker;
let api: string;

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false, plugins: [liteboxd],
    config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { warmPool: 0 } } },
  });
  await bunker.listen();
  api = `${bunker.baseUrl}/api/v1`;
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${api}${path}`, { method, headers: { "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
/** `liteboxd.CreateTemplateRequest` as the Go SDK marshals it for `liteboxd template create NAME --image IMAGE`. */
const goCreate = (name: string, spec: Record<string, unknown> = {}) => ({
  name, displayName: "", description: "", tags: null, isPublic: null, autoPrepull: false,
  spec: { image: "host", resources: { cpu: "", memory: "" }, ttl: 0, ...spec },
});
const importYaml = (yaml: string) => {
  const form = new FormData();
  form.append("file", new Blob([yaml]), "t.yaml");
  return fetch(`${api}/templates/import`, { method: "POST", body: form });
};

describe("GET /templates (item 3)", () => {
  test("each listed template carries its latest spec, as LiteBoxd's list does (the CLI's IMAGE column)", async () => {
    expect((await send("POST", "/templates", goCreate("listed", { env: { A: "1" } }))).status).toBe(201);
    const list = (await (await send("GET", "/templates?page=1&pageSize=20")).json()) as { items: Array<{ name: string; spec?: { image: string; env?: unknown } }> };
    const listed = list.items.find((t) => t.name === "listed");
    expect(listed?.spec).toMatchObject({ image: "host", env: { A: "1" } });
  });
});

describe("empty resources (item 4)", () => {
  test("create and update with cpu and memory \"\" store LiteBoxd's defaults, and a sandbox starts from them", async () => {
    const created = (await (await send("POST", "/templates", goCreate("blank-resources"))).json()) as { spec: { resources: unknown } };
    expect(created.spec.resources).toEqual({ cpu: "500m", memory: "512Mi" });
    const update = { displayName: "", description: "", tags: null, isPublic: null, changelog: "", spec: { image: "host", resources: { cpu: "", memory: "" }, ttl: 0 } };
    const updated = await send("PUT", "/templates/blank-resources", update);
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as { spec: { resources: unknown } }).spec.resources).toEqual({ cpu: "500m", memory: "512Mi" });
    const sandbox = await send("POST", "/sandboxes", { template: "blank-resources", templateVersion: 0, overrides: { cpu: "", memory: "" } });
    expect(sandbox.status).toBe(201);
    const wire = (await sandbox.json()) as { id: string; cpu: string; memory: string };
    expect([wire.cpu, wire.memory]).toEqual(["500m", "512Mi"]);
    await send("DELETE", `/sandboxes/${wire.id}`);
  });
});

describe("page and pageSize (item 6)", () => {
  test("non-integers are a 400 INVALID_REQUEST, as LiteBoxd's integer parsing refuses them", async () => {
    for (const query of ["page=1.5", "pageSize=2.5", "page=abc", "page=2e27", "page=2020000000000000000000000000"]) {
      const res = await send("GET", `/templates?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
    }
  });

  test("integers are echoed as integers and pageSize is bounded at 100", async () => {
    const body = (await (await send("GET", "/templates?page=1&pageSize=100000")).json()) as { page: number; pageSize: number };
    expect([body.page, body.pageSize]).toEqual([1, 100]);
    expect(((await (await send("GET", "/templates?page=0")).json()) as { page: number }).page).toBe(1);
  });
});

describe("YAML export of control characters (item 7)", () => {
  const description = "a\u0093b\u0085c\u007fd\u0080e\u009f";
  const env = { MIXED: "x\u0090y\u2028z", TAB: "t\tu" };

  test("C1 controls, DEL, NEL and line separators are escaped, and a strict reader gets the same text back", async () => {
    expect((await send("POST", "/templates", { ...goCreate("controls", { env }), description })).status).toBe(201);
    const text = await (await send("GET", "/templates/controls/export")).text();
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u2029]/);
    // The input is ASCII apart from the controls: any byte 0x80-0x9F would be one of them written raw.
    expect([...Buffer.from(text)].filter((b) => b >= 0x80 && b <= 0x9f)).toEqual([]);
    const doc = parse(text, { strict: true, uniqueKeys: true, prettyErrors: true });
    expect(doc.metadata.description).toBe(description);
    expect(doc.spec.env).toEqual(env);
    const list = parse(await (await send("GET", "/templates/export?names=controls")).text(), { strict: true });
    expect(list.items[0].metadata.description).toBe(description);
  });

  // PyYAML comes from Debian's python3-yaml, which the test set-up installs (liteboxd's testApt).
  test("PyYAML (what LiteBoxd's Python users read exports with) loads the export", async () => {
    const text = await (await send("GET", "/templates/controls/export")).text();
    const read = "import json, sys, yaml; d = yaml.safe_load(sys.stdin); print(json.dumps([d['metadata']['description'], d['spec']['env']]))";
    const py = Bun.spawnSync(["python3", "-c", read], { stdin: Buffer.from(text) });
    expect(py.stderr.toString()).toBe("");
    expect(JSON.parse(py.stdout.toString())).toEqual([description, env]);
  });
});

describe("YAML import validates like POST /templates (issue 15.7)", () => {
  test("specs the JSON route refuses fail on import with the failing field, and nothing is stored", async () => {
    const doc = (name: string, spec: string) => `apiVersion: liteboxd/v1\nkind: SandboxTemplate\nmetadata:\n  name: ${name}\nspec:\n  image: host\n${spec}`;
    const cases = [
      ["bad-command", "  command: echo hi\n", "spec.command"],
      ["bad-ttl", "  ttl: soon\n", "spec.ttl"],
      ["bad-env", "  env: {A: [1]}\n", "spec.env.A"],
      ["bad-files", "  files: [{content: x}]\n", "spec.files.0.destination"],
    ] as const;
    for (const [name, spec, field] of cases) {
      const json = await send("POST", "/templates", { name, spec: parse(doc(name, spec)).spec });
      expect({ name, status: json.status }).toEqual({ name, status: 400 });
      const result = (await (await importYaml(doc(name, spec))).json()) as { failed: number; results: Array<{ action: string; error: string }> };
      expect({ name, failed: result.failed, action: result.results[0]!.action }).toEqual({ name, failed: 1, action: "failed" });
      expect(result.results[0]!.error).toContain(`${field}:`);
      expect((await send("GET", `/templates/${name}`)).status).toBe(404);
    }
  });

  test("metadata fields are checked too, and a quoted number is read as the JSON route reads it", async () => {
    const tags = await importYaml("apiVersion: liteboxd/v1\nkind: SandboxTemplate\nmetadata:\n  name: bad-tags\n  tags: ml\nspec:\n  image: host\n");
    expect(((await tags.json()) as { results: Array<{ error: string }> }).results[0]!.error).toContain("tags:");
    const quoted = await importYaml("apiVersion: liteboxd/v1\nkind: SandboxTemplate\nmetadata:\n  name: quoted-ttl\nspec:\n  image: host\n  ttl: \"120\"\n");
    expect(((await quoted.json()) as { created: number }).created).toBe(1);
    expect(((await (await send("GET", "/templates/quoted-ttl")).json()) as { spec: { ttl: unknown } }).spec.ttl).toBe(120);
  });
});

describe("401 on template routes (item 8)", () => {
  test("with keys required, every route family answers a missing or wrong key with LiteBoxd's plain string", async () => {
    const key = await bunker.keys.create("alice");
    try {
      for (const path of ["/templates", "/templates/listed", "/templates/export", "/images/prepull", "/sandboxes"]) {
        for (const headers of [{}, { authorization: "Bearer bk_nope_nope" }] as Array<Record<string, string>>) {
          const res = await send("GET", path, undefined, headers);
          expect({ path, status: res.status }).toEqual({ path, status: 401 });
          expect(typeof ((await res.json()) as { error: unknown }).error).toBe("string");
        }
      }
      expect((await send("GET", "/templates", undefined, { authorization: `Bearer ${key.key}` })).status).toBe(200);
    } finally {
      await bunker.keys.revoke(key.info.id);
    }
  });
});
