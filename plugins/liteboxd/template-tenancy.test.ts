// Templates and prepull tasks have owners (issue 15.1): bob's private template is invisible to alice on every route,
// his public one is hers to read and use but not to change, and the service other plugins use takes the owner too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import type { Bunker, BunkerServices } from "bunker/core";
import { startWithServices } from "./testdata/with-services";
import { callAs } from "../../test/support/tenancy";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-tenancy-"));
const SECRET = `bob-secret-${crypto.randomUUID()}`;
let bunker: Bunker;
let templates: BunkerServices["liteboxd.templates"];
let api: string;
let keys: { alice: string; bob: string; admin: string };

const as = (user: keyof typeof keys, method: string, path: string, body?: unknown) => callAs(api, keys[user], method, path, body);
const importForm = (yaml: string, strategy = "create-or-update") => {
  const form = new FormData();
  form.append("file", new Blob([yaml]), "templates.yaml");
  form.append("strategy", strategy);
  return form;
};
const templateYaml = (name: string, spec: string) => `apiVersion: liteboxd/v1\nkind: SandboxTemplate\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

beforeAll(async () => {
  ({ bunker, templates } = await startWithServices(dataDir, { warmPool: 0 }));
  api = `${bunker.baseUrl}/api/v1`;
  keys = {
    alice: (await bunker.keys.create("alice")).key,
    bob: (await bunker.keys.create("bob")).key,
    admin: (await bunker.keys.create("ops", "admin", { role: "admin" })).key,
  };
  const privateOne = await as("bob", "POST", "/templates", { name: "bob-private", spec: { image: "host", env: { BOB_SECRET: SECRET }, startupScript: "echo bob" } });
  expect(privateOne.status).toBe(201);
  const publicOne = await as("bob", "POST", "/templates", { name: "bob-public", isPublic: true, spec: { image: "host", startupScript: "echo bob" } });
  expect(publicOne.status).toBe(201);
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a private template of another user", () => {
  test("is private by default and owned by its author", async () => {
    const own = await as("bob", "GET", "/templates/bob-private");
    expect(own.status).toBe(200);
    expect(own.json).toMatchObject({ name: "bob-private", author: "bob", isPublic: false });
  });

  test("answers 404 on every route with the same body as a missing template, and shows no content", async () => {
    for (const [method, path, body] of [
      ["GET", "/templates/NAME", undefined],
      ["GET", "/templates/NAME/export", undefined],
      ["GET", "/templates/NAME/versions", undefined],
      ["GET", "/templates/NAME/versions/1", undefined],
      ["PUT", "/templates/NAME", { spec: { image: "host", startupScript: "echo alice" } }],
      ["DELETE", "/templates/NAME", undefined],
      ["POST", "/templates/NAME/rollback", { targetVersion: 1 }],
      ["POST", "/templates/NAME/prepull", undefined],
    ] as const) {
      const hidden = await as("alice", method, path.replace("NAME", "bob-private"), body);
      const missing = await as("alice", method, path.replace("NAME", "no-such-tpl"), body);
      expect({ route: `${method} ${path}`, status: hidden.status }).toEqual({ route: `${method} ${path}`, status: 404 });
      expect(hidden.text.replaceAll("bob-private", "X")).toBe(missing.text.replaceAll("no-such-tpl", "X"));
      expect(hidden.text).not.toContain(SECRET);
    }
    const sandbox = await as("alice", "POST", "/sandboxes", { template: "bob-private" });
    expect(sandbox.status).toBe(404);
    expect(sandbox.json).toEqual({ error: "template bob-private not found" });
  });

  test("is left out of alice's list and exports", async () => {
    const list = await as("alice", "GET", "/templates?pageSize=100");
    expect(list.json.items.map((t: { name: string }) => t.name)).toEqual(["bob-public"]);
    expect(list.json.total).toBe(1);
    const all = await as("alice", "GET", "/templates/export?names=bob-private,bob-public");
    expect(all.status).toBe(200);
    expect(all.text).not.toContain(SECRET);
    expect(parse(all.text).items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["bob-public"]);
  });

  test("alice's PUT never reaches bob's sandboxes: the spec stays bob's", async () => {
    await as("alice", "PUT", "/templates/bob-private", { spec: { image: "host", startupScript: "echo alice" } });
    const own = await as("bob", "GET", "/templates/bob-private");
    expect(own.json.latestVersion).toBe(1);
    expect(own.json.spec.startupScript).toBe("echo bob");
  });

  test("its name is taken: creating it is 409 without revealing anything", async () => {
    const clash = await as("alice", "POST", "/templates", { name: "bob-private", spec: { image: "host" } });
    expect(clash.status).toBe(409);
    expect(clash.json).toEqual({ error: { code: "TEMPLATE_EXISTS", message: "template bob-private already exists" } });
  });

  test("an import cannot overwrite it: the entry fails as a create of a taken name, and update-only skips it", async () => {
    const overwrite = await as("alice", "POST", "/templates/import", importForm(templateYaml("bob-private", "  image: host\n  startupScript: echo alice\n")));
    expect(overwrite.status).toBe(200);
    expect(overwrite.json.results).toEqual([{ name: "bob-private", action: "failed", error: "template bob-private already exists" }]);
    const updateOnly = await as("alice", "POST", "/templates/import", importForm(templateYaml("bob-private", "  image: host\n"), "update-only"));
    expect(updateOnly.json.results).toEqual([{ name: "bob-private", action: "skipped" }]);
    expect((await as("bob", "GET", "/templates/bob-private")).json.spec.startupScript).toBe("echo bob");
  });
});

describe("a public template of another user", () => {
  test("alice reads, lists, exports and starts a sandbox from it", async () => {
    expect((await as("alice", "GET", "/templates/bob-public")).status).toBe(200);
    expect((await as("alice", "GET", "/templates/bob-public/versions")).json.total).toBe(1);
    expect(parse((await as("alice", "GET", "/templates/bob-public/export")).text).metadata.name).toBe("bob-public");
    const sandbox = await as("alice", "POST", "/sandboxes", { template: "bob-public" });
    expect(sandbox.status).toBe(201);
    expect((await as("alice", "DELETE", `/sandboxes/${sandbox.json.id}`)).status).toBe(202);
  });

  test("alice cannot change, roll back, prepull, delete or import over it: 403, and it stays as bob left it", async () => {
    for (const [method, path, body] of [
      ["PUT", "/templates/bob-public", { spec: { image: "host", startupScript: "echo alice" } }],
      ["POST", "/templates/bob-public/rollback", { targetVersion: 1 }],
      ["POST", "/templates/bob-public/prepull", undefined],
      ["DELETE", "/templates/bob-public", undefined],
    ] as const) {
      const refused = await as("alice", method, path, body);
      expect({ route: `${method} ${path}`, status: refused.status, code: refused.json?.error?.code })
        .toEqual({ route: `${method} ${path}`, status: 403, code: "TEMPLATE_FORBIDDEN" });
    }
    const imported = await as("alice", "POST", "/templates/import", importForm(templateYaml("bob-public", "  image: host\n  startupScript: echo alice\n")));
    expect(imported.json.results[0]).toMatchObject({ name: "bob-public", action: "failed" });
    const after = await as("bob", "GET", "/templates/bob-public");
    expect(after.json).toMatchObject({ latestVersion: 1, spec: { startupScript: "echo bob" } });
  });

  test("its author still changes it", async () => {
    const updated = await as("bob", "PUT", "/templates/bob-public", { isPublic: true, spec: { image: "host", startupScript: "echo bob v2" } });
    expect(updated.status).toBe(200);
    expect(updated.json.latestVersion).toBe(2);
  });
});

describe("an admin key", () => {
  test("sees another user's private template and its prepull tasks, and may change it", async () => {
    expect((await as("admin", "GET", "/templates?pageSize=100")).json.items.map((t: { name: string }) => t.name)).toContain("bob-private");
    expect((await as("admin", "GET", "/templates/bob-private/export")).text).toContain(SECRET);
    const tagged = await as("admin", "PUT", "/templates/bob-private", { tags: ["reviewed"], spec: { image: "host", env: { BOB_SECRET: SECRET }, startupScript: "echo bob" } });
    expect(tagged.status).toBe(200);
    expect((await as("bob", "GET", "/templates/bob-private")).json).toMatchObject({ tags: ["reviewed"], author: "bob" });
    const task = await as("bob", "POST", "/templates/bob-private/prepull");
    expect(task.status).toBe(202);
    expect((await as("admin", "GET", `/images/prepull/${task.json.id}`)).status).toBe(200);
  });
});

describe("prepull tasks", () => {
  test("another user's task is 404 and is not listed", async () => {
    const task = await as("bob", "POST", "/images/prepull", { image: "host" });
    expect(task.status).toBe(202);
    for (const method of ["GET", "DELETE"]) {
      const hidden = await as("alice", method, `/images/prepull/${task.json.id}`);
      expect(hidden.status).toBe(404);
      expect(hidden.json.error.code).toBe("PREPULL_NOT_FOUND");
    }
    expect((await as("alice", "GET", "/images/prepull")).json.items).toEqual([]);
    expect((await as("bob", "GET", "/images/prepull")).json.items.map((t: { id: string }) => t.id)).toContain(task.json.id);
    expect((await as("bob", "GET", `/images/prepull/${task.json.id}`)).status).toBe(200);
  });
});

describe("the liteboxd.templates service", () => {
  test("templates another plugin creates for a user (agent templates) are private to that user", async () => {
    await templates.create({ name: "agent-of-bob", spec: { image: "host", env: { TOKEN: SECRET } } }, "bob");
    expect(await templates.exists("agent-of-bob", "bob")).toBe(true);
    expect(await templates.exists("agent-of-bob", "alice")).toBe(false);
    await expect(templates.get("agent-of-bob", "alice")).rejects.toMatchObject({ status: 404, code: "TEMPLATE_NOT_FOUND" });
    await expect(templates.update("agent-of-bob", { spec: { image: "host" } }, "alice")).rejects.toMatchObject({ status: 404 });
    await expect(templates.remove("agent-of-bob", "alice")).rejects.toMatchObject({ status: 404 });
    expect((await templates.list({}, "alice")).items.map((t) => t.name)).not.toContain("agent-of-bob");
    expect((await templates.get("agent-of-bob", "bob")).spec?.env).toEqual({ TOKEN: SECRET });
  });

  test("an admin principal sees and changes every user's templates", async () => {
    const admin = { userId: "root", keyId: null, admin: true };
    expect((await templates.list({}, admin)).items.map((t) => t.name)).toContain("bob-private");
    const changed = await templates.update("bob-private", { spec: { image: "host", startupScript: "echo admin" }, changelog: "admin fix" }, admin);
    const versions = await templates.versions("bob-private", "bob");
    expect(versions.items[0]).toMatchObject({ version: changed.latestVersion, createdBy: "root", changelog: "admin fix" });
  });
});
