// Envs belong to the user whose key created them: others cannot see, run, change, delete or detect them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../../test/support/eventually";
import { withoutRequestId } from "../../test/support/tenancy";
import { testBunker, TEST_ROOT, type TestBunker } from "./test-support";

type As = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

describe("two users with API keys", () => {
  let tb: TestBunker;
  let alice: As;
  let bob: As;
  let carol: As;
  beforeAll(async () => {
    tb = await testBunker();
    const as = (key: string): As => (method, path, body) => tb.call(method, path, body, { authorization: `Bearer ${key}` });
    alice = as(await tb.keyFor("alice"));
    bob = as(await tb.keyFor("bob"));
    carol = as(await tb.keyFor("carol"));
    expect((await alice("POST", "/envs", { workflow_id: "wf", node_id: "n", packages: ["bunkerdemo-a==1.0"] })).status).toBe(201);
    expect((await alice("POST", "/envs/wf/n/run", { code: "print('alice secret')" })).status).toBe(200);
  });
  afterAll(() => tb.close());

  const ENV_ROUTES: Array<[string, string, unknown?]> = [
    ["GET", "/envs/wf/n"],
    ["GET", "/envs/wf/n/deps"],
    ["GET", "/envs/wf/n/export"],
    ["POST", "/envs/wf/n/sync"],
    ["POST", "/envs/wf/n/deps", { packages: ["bunkerdemo-b"] }],
    ["DELETE", "/envs/wf/n/deps", { packages: ["bunkerdemo-a"] }],
    ["POST", "/envs/wf/n/run", { code: "print(open('/etc/hostname').read())" }],
    ["DELETE", "/envs/wf/n"],
    ["GET", "/envs/wf/n?owner=alice"],
    ["POST", "/envs/wf/n/run?owner=alice", { code: "print(1)" }],
    ["DELETE", "/envs/wf/n?owner=alice"],
  ];

  test("every route that names alice's env answers bob exactly what a missing env answers, and changes nothing", async () => {
    const before = readFileSync(join(tb.envsBase, "@alice", "wf", "n", "v1", "pyproject.toml"), "utf8");
    for (const [method, path, body] of ENV_ROUTES) {
      const asBob = await bob(method, path, body);
      // carol never had anything: her answer is the answer for a missing env.
      const asCarol = await carol(method, path.replace("owner=alice", "owner=carol"), body);
      expect({ route: `${method} ${path}`, status: asBob.status, code: asBob.body.error?.code }).toEqual({
        route: `${method} ${path}`, status: 404, code: "ENV_NOT_FOUND",
      });
      expect(withoutRequestId(asBob.body)).toEqual(withoutRequestId(asCarol.body));
    }
    expect(readFileSync(join(tb.envsBase, "@alice", "wf", "n", "v1", "pyproject.toml"), "utf8")).toBe(before);
    expect((await alice("GET", "/envs/wf/n/deps")).body.dependencies).toEqual(["bunkerdemo-a==1.0"]);
  });

  test("lists and the audit trail show each user only their own envs and rows", async () => {
    expect((await bob("GET", "/envs?workflow_id=wf")).body.envs).toEqual([]);
    expect((await bob("GET", "/envs")).body.envs).toEqual([]);
    expect((await bob("GET", "/envs?owner=alice")).body.envs).toEqual([]);
    const mine = (await alice("GET", "/envs?workflow_id=wf")).body.envs;
    expect(mine.map((e: { owner: string; node_id: string }) => `${e.owner}:${e.node_id}`)).toEqual(["alice:n"]);

    for (const path of ["/envs/operations", "/envs/operations?workflow_id=wf&node_id=n&version_id=v1", "/envs/operations?owner=alice"]) {
      const rows = (await bob("GET", path)).body.operations;
      expect(JSON.stringify(rows)).not.toContain("alice secret");
      expect(rows.filter((r: { owner: string }) => r.owner !== "bob")).toEqual([]);
    }
    const aliceRows = (await alice("GET", "/envs/operations")).body.operations;
    expect(aliceRows.map((r: { operation: string; owner: string }) => `${r.owner}:${r.operation}`)).toEqual(["alice:run", "alice:create"]);
    expect(aliceRows[0].arguments.code).toBe("print('alice secret')");
  });

  test("bob gets his own env with the same workflow, node and version, next to alice's and apart from it", async () => {
    const created = await bob("POST", "/envs", { workflow_id: "wf", node_id: "n" });
    expect(created.status).toBe(201);
    expect(created.body.env_path).toBe(join(tb.envsBase, "@bob", "wf", "n", "v1"));
    expect((await bob("POST", "/envs/wf/n/run", { code: "import bunkerdemo_a" })).body.exit_code).toBe(1);
    expect((await alice("POST", "/envs/wf/n/run", { code: "import bunkerdemo_a" })).body.exit_code).toBe(0);
    // His own env of the same name does not let him into hers.
    expect((await bob("GET", "/envs/wf/n?owner=alice")).status).toBe(404);
    expect((await bob("GET", "/envs")).body.envs.map((e: { owner: string }) => e.owner)).toEqual(["bob"]);
  });

  test("a user's cleanup removes only that user's idle envs", async () => {
    const res = await bob("POST", "/envs/cleanup", { idle_hours: 0 });
    expect(res.body.removed).toEqual(["wf/n/v1"]);
    expect(existsSync(join(tb.envsBase, "@bob", "wf", "n", "v1"))).toBe(false);
    expect(existsSync(join(tb.envsBase, "@alice", "wf", "n", "v1"))).toBe(true);
  });

  test("a cleanup removes the env it found where it lies, whatever that env's metadata file claims", async () => {
    // Code run in an env can rewrite the env's files: bob's metadata naming alice's env must not aim his cleanup at hers.
    const created = await bob("POST", "/envs", { workflow_id: "wf", node_id: "forged" });
    expect(created.status).toBe(201);
    const meta = JSON.stringify(join(created.body.env_path, "bunker-env.json"));
    const forge = `import json\nm = json.load(open(${meta}))\nm.update(owner="alice", node_id="n")\njson.dump(m, open(${meta}, "w"))`;
    expect((await bob("POST", "/envs/wf/forged/run", { code: forge })).body.exit_code).toBe(0);
    await Bun.sleep(5); // the run marked the env used just now: idle_hours 0 needs it to be used before the cleanup
    const res = await bob("POST", "/envs/cleanup", { idle_hours: 0 });
    expect(res.body.removed).toEqual(["wf/forged/v1"]);
    expect(existsSync(join(tb.envsBase, "@bob", "wf", "forged", "v1"))).toBe(false);
    expect(existsSync(join(tb.envsBase, "@alice", "wf", "n", "v1"))).toBe(true);
  });
});

describe("the background cleanup", () => {
  test("removes idle envs of every owner", async () => {
    const first = await testBunker();
    const envsBase = first.envsBase;
    try {
      for (const user of ["alice", "bob"]) {
        const key = await first.keyFor(user);
        const res = await first.call("POST", "/envs", { workflow_id: "wf", node_id: "idle" }, { authorization: `Bearer ${key}` });
        expect(res.status).toBe(201);
      }
    } finally {
      await first.bunker.stop();
    }
    const tb = await testBunker({ config: { envsBasePath: envsBase, cleanupIdleHours: 0, cleanupIntervalMinutes: 60 }, start: true });
    try {
      for (const user of ["alice", "bob"]) {
        await eventually(() => !existsSync(join(envsBase, `@${user}`, "wf", "idle", "v1")), `${user}'s idle env to be removed`);
      }
    } finally {
      await tb.close();
      await first.close();
    }
  });
});

describe("envs made before envs had owners", () => {
  test("the old on-disk layout moves under the local user at start, and its envs keep working", async () => {
    const envsBase = mkdtempSync(join(TEST_ROOT, "legacy-envs-"));
    const first = await testBunker({ config: { envsBasePath: envsBase } });
    try {
      expect((await first.call("POST", "/envs", { workflow_id: "wf", node_id: "old", packages: ["bunkerdemo-a==1.0"] })).status).toBe(201);
    } finally {
      await first.bunker.stop();
    }
    // Put it back the way the server before owners left it: <base>/<workflow>/…, no owner in its metadata.
    const { renameSync, rmdirSync, writeFileSync } = await import("node:fs");
    renameSync(join(envsBase, "@local", "wf"), join(envsBase, "wf"));
    rmdirSync(join(envsBase, "@local"));
    const metaPath = join(envsBase, "wf", "old", "v1", "bunker-env.json");
    const { owner: _owner, ...legacyMeta } = JSON.parse(readFileSync(metaPath, "utf8"));
    writeFileSync(metaPath, JSON.stringify(legacyMeta));

    const tb = await testBunker({ config: { envsBasePath: envsBase } });
    try {
      expect(existsSync(join(envsBase, "wf"))).toBe(false);
      const state = await tb.call("GET", "/envs/wf/old");
      expect(state.status).toBe(200);
      expect(state.body).toMatchObject({ owner: "local", env_path: join(envsBase, "@local", "wf", "old", "v1") });
      const run = await tb.call("POST", "/envs/wf/old/run", { code: "import bunkerdemo_a; print(bunkerdemo_a.VERSION)" });
      expect(run.body.stdout).toBe("1.0\n");
    } finally {
      await tb.close();
      await first.close();
    }
  });
});

describe("admins", () => {
  test("an admin reaches any owner's env with ?owner= and lists everyone's; a user with ?owner= of another does not", async () => {
    const tb = await testBunker();
    try {
      const as = (key: string) => ({ authorization: `Bearer ${key}` });
      const alice = as(await tb.keyFor("alice"));
      const bob = as(await tb.keyFor("bob"));
      const admin = as((await tb.bunker.keys.create("root", "ops", { role: "admin" })).key);
      expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "a" }, alice)).status).toBe(201);
      const state = await tb.call("GET", "/envs/wf/a?owner=alice", undefined, admin);
      expect(state.status).toBe(200);
      expect(state.body.owner).toBe("alice");
      expect((await tb.call("GET", "/envs", undefined, admin)).body.envs.map((e: { owner: string }) => e.owner)).toEqual(["alice"]);
      const asBob = await tb.call("GET", "/envs/wf/a?owner=alice", undefined, bob);
      expect(asBob.status).toBe(404);
      expect(asBob.body.error.message).toBe("env wf/a/v1 does not exist");
    } finally {
      await tb.close();
    }
  });
});
