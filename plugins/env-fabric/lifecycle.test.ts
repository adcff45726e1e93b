// Create, inspect, change, export, sync and delete envs against the real uv and an offline index.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { offlineIndex, testBunker, type TestBunker } from "./test-support";

let tb: TestBunker;
beforeAll(async () => {
  tb = await testBunker();
});
afterAll(() => tb.close());

const versionOf = async (path: string, module: string) => {
  const res = await tb.call("POST", `${path}/run`, { code: `import ${module}; print(${module}.VERSION)` });
  return String(res.body.stdout).trim();
};

describe("creating an env", () => {
  test("form data with packages and an uploaded requirements file builds a uv project", async () => {
    const form = new FormData();
    form.set("workflow_id", "wf-form");
    form.set("node_id", "node1");
    form.set("version_id", "v2");
    form.append("packages", "bunkerdemo-a>=1.0");
    form.set("requirements_file", new File(["# extra deps\nbunkerdemo-b\n"], "requirements.txt"));
    const res = await tb.call("POST", "/envs", form);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ workflow_id: "wf-form", node_id: "node1", version_id: "v2", python_version: "3.11", status: "created" });
    expect(res.body.env_path).toBe(join(tb.localEnvs, "wf-form", "node1", "v2"));
    expect(res.body.pyproject_toml).toContain('name = "wf-form-node1"');
    expect(res.body.pyproject_toml).toContain("bunkerdemo-b");
    for (const f of ["pyproject.toml", "uv.lock", ".venv/pyvenv.cfg"]) expect(existsSync(join(res.body.env_path, f))).toBe(true);
  });

  test("form data may carry packages as one JSON-array field, as the TRD's clients send them", async () => {
    const form = new FormData();
    form.set("workflow_id", "wf-form");
    form.set("node_id", "node2");
    form.set("packages", JSON.stringify(["bunkerdemo-a==1.1"]));
    const res = await tb.call("POST", "/envs", form);
    expect(res.status).toBe(201);
    expect((await tb.call("GET", "/envs/wf-form/node2/deps")).body.locked_versions).toEqual({ "bunkerdemo-a": "1.1" });
  });

  test("a JSON body works too, and version_id defaults to v1", async () => {
    const res = await tb.call("POST", "/envs", { workflow_id: "wf1", node_id: "pinned", packages: ["bunkerdemo-a==1.0"] });
    expect(res.status).toBe(201);
    expect(res.body.version_id).toBe("v1");
    expect(await versionOf("/envs/wf1/pinned", "bunkerdemo_a")).toBe("1.0");
  });

  test("an env that exists already is 409 ENV_ALREADY_EXISTS", async () => {
    const res = await tb.call("POST", "/envs", { workflow_id: "wf1", node_id: "pinned" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("ENV_ALREADY_EXISTS");
  });

  test("a resolution failure is 422 with uv's explanation and leaves no files behind", async () => {
    const res = await tb.call("POST", "/envs", { workflow_id: "wf1", node_id: "broken", packages: ["bunkerdemo-a==9.9"] });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("PACKAGE_RESOLUTION_FAILED");
    expect(res.body.error.details.explanation).toContain("bunkerdemo-a==9.9");
    const nodeDir = join(tb.localEnvs, "wf1", "broken");
    expect(readdirSync(nodeDir).filter((f) => !f.endsWith(".lock"))).toEqual([]);
    expect((await tb.call("GET", "/envs/wf1/broken")).status).toBe(404);
  });

  test("an interpreter the machine does not have is 500 UV_EXECUTION_ERROR with the command", async () => {
    const res = await tb.call("POST", "/envs", { workflow_id: "wf1", node_id: "nopython", python_version: "2.1" });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("UV_EXECUTION_ERROR");
    expect(res.body.error.details.command).toContain("venv");
    expect(existsSync(join(tb.localEnvs, "wf1", "nopython", "v1"))).toBe(false);
  });
});

describe("listing and inspecting envs", () => {
  test("GET /envs lists envs with their size on disk and last use", async () => {
    const res = await tb.call("GET", "/envs");
    expect(res.status).toBe(200);
    const pinned = res.body.envs.find((e: { node_id: string }) => e.node_id === "pinned");
    expect(pinned).toMatchObject({ workflow_id: "wf1", version_id: "v1", python_version: "3.11", created_by: "local" });
    expect(pinned.size_bytes).toBeGreaterThan(0);
    expect(Date.parse(pinned.last_used_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await tb.call("GET", "/envs?workflow_id=wf-form")).body.envs.map((e: { node_id: string }) => e.node_id).sort()).toEqual(["node1", "node2"]);
  });

  test("GET one env shows its dependencies, locked versions and whether .venv is there", async () => {
    const res = await tb.call("GET", "/envs/wf1/pinned");
    expect(res.body).toMatchObject({
      dependencies: ["bunkerdemo-a==1.0"],
      locked_versions: { "bunkerdemo-a": "1.0" },
      venv_present: true,
      packages_installed: 1,
      busy: false,
    });
  });

  test("an unknown env is 404 ENV_NOT_FOUND on every route", async () => {
    for (const [method, path] of [
      ["GET", "/envs/wf1/ghost"], ["GET", "/envs/wf1/ghost/deps"], ["GET", "/envs/wf1/ghost/export"],
      ["POST", "/envs/wf1/ghost/sync"], ["DELETE", "/envs/wf1/ghost"], ["GET", "/envs/wf1/pinned?version_id=v9"],
    ] as const) {
      const res = await tb.call(method, path);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("ENV_NOT_FOUND");
    }
  });
});

describe("dependencies", () => {
  test("adding a package locks it and GET deps lists declared and locked versions", async () => {
    const created = await tb.call("POST", "/envs", { workflow_id: "wf1", node_id: "deps", packages: ["bunkerdemo-a>=1.0"] });
    expect(created.status).toBe(201);
    const added = await tb.call("POST", "/envs/wf1/deps/deps", { packages: ["bunkerdemo-b"] });
    expect(added.status).toBe(200);
    expect(added.body.status).toBe("added");
    const deps = await tb.call("GET", "/envs/wf1/deps/deps");
    expect(deps.body).toEqual({
      workflow_id: "wf1", node_id: "deps", version_id: "v1",
      dependencies: ["bunkerdemo-a>=1.0", "bunkerdemo-b>=1.0"],
      locked_versions: { "bunkerdemo-a": "1.1", "bunkerdemo-b": "1.0" },
    });
    expect(await versionOf("/envs/wf1/deps", "bunkerdemo_b")).toBe("1.0");
  });

  test("a failed add leaves pyproject.toml and uv.lock exactly as they were", async () => {
    const dir = join(tb.localEnvs, "wf1", "deps", "v1");
    const before = ["pyproject.toml", "uv.lock"].map((f) => readFileSync(join(dir, f), "utf8"));
    const res = await tb.call("POST", "/envs/wf1/deps/deps", { packages: ["bunkerdemo-a==9.9"] });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("PACKAGE_RESOLUTION_FAILED");
    expect(["pyproject.toml", "uv.lock"].map((f) => readFileSync(join(dir, f), "utf8"))).toEqual(before);
  });

  test("removing a package drops it from pyproject.toml, the lock and .venv", async () => {
    const res = await tb.call("DELETE", "/envs/wf1/deps/deps", { packages: ["bunkerdemo-b"] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "removed", dependencies: ["bunkerdemo-a>=1.0"], locked_versions: { "bunkerdemo-a": "1.1" } });
    const run = await tb.call("POST", "/envs/wf1/deps/run", { code: "import bunkerdemo_b" });
    expect(run.body.exit_code).toBe(1);
    expect(run.body.stderr).toContain("ModuleNotFoundError");
  });

  test("removing a package the env does not declare is 400 INVALID_PACKAGES", async () => {
    const res = await tb.call("DELETE", "/envs/wf1/deps/deps", { packages: ["bunkerdemo-b"] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_PACKAGES");
  });
});

describe("export and sync", () => {
  test("export returns the text of pyproject.toml and uv.lock", async () => {
    const res = await tb.call("GET", "/envs/wf1/pinned/export?version_id=v1");
    const dir = join(tb.localEnvs, "wf1", "pinned", "v1");
    expect(res.body).toEqual({
      workflow_id: "wf1", node_id: "pinned", version_id: "v1",
      pyproject_toml: readFileSync(join(dir, "pyproject.toml"), "utf8"),
      uv_lock: readFileSync(join(dir, "uv.lock"), "utf8"),
    });
    expect(res.body.uv_lock).toContain('name = "bunkerdemo-a"');
  });

  test("sync rebuilds a deleted .venv with exactly the locked versions", async () => {
    rmSync(join(tb.localEnvs, "wf1", "pinned", "v1", ".venv"), { recursive: true });
    expect((await tb.call("GET", "/envs/wf1/pinned")).body.venv_present).toBe(false);
    const res = await tb.call("POST", "/envs/wf1/pinned/sync");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ workflow_id: "wf1", node_id: "pinned", version_id: "v1", status: "synced", packages_installed: 1 });
    // bunkerdemo-a 1.1 is in the index too: the lock, not the newest release, decides.
    expect(await versionOf("/envs/wf1/pinned", "bunkerdemo_a")).toBe("1.0");
  });
});

describe("deleting an env", () => {
  test("DELETE removes its files and it is 404 afterwards", async () => {
    const res = await tb.call("DELETE", "/envs/wf-form/node1?version_id=v2");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("deleted");
    expect(existsSync(join(tb.localEnvs, "wf-form", "node1", "v2"))).toBe(false);
    expect((await tb.call("GET", "/envs/wf-form/node1?version_id=v2")).status).toBe(404);
  });
});

describe("refused input", () => {
  test.each([
    ["POST", "/envs", { workflow_id: "..", node_id: "n" }],
    ["POST", "/envs", { workflow_id: "wf", node_id: "a b" }],
    ["POST", "/envs", { workflow_id: "wf", node_id: "n", version_id: "../../etc" }],
    ["GET", "/envs/wf1/pinned?version_id=..", undefined],
    ["GET", "/envs/wf1/..%2F..%2Fetc/deps", undefined],
    ["GET", `/envs/${"w".repeat(65)}/n`, undefined],
  ])("%s %s with a bad id is 400", async (method, path, body) => {
    const res = await tb.call(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_ID");
  });

  test.each([["-e ."], ["--index-url=http://example.invalid/simple"], ["bunkerdemo-a @ https://example.invalid/a.whl"], ["../pkg"]])(
    "the package %p is 400 INVALID_PACKAGES and creates nothing",
    async (pkg) => {
      const res = await tb.call("POST", "/envs", { workflow_id: "wf1", node_id: "refused", packages: [pkg] });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("INVALID_PACKAGES");
      expect(existsSync(join(tb.localEnvs, "wf1", "refused"))).toBe(false);
    },
  );

  test("a server that allows direct references installs a wheel by its file URL", async () => {
    const open = await testBunker({ config: { allowDirectReferences: true } });
    try {
      const wheel = join(await offlineIndex(), "bunkerdemo_a-1.0-py3-none-any.whl");
      const res = await open.call("POST", "/envs", { workflow_id: "wf", node_id: "direct", packages: [`bunkerdemo-a @ file://${wheel}`] });
      expect(res.status).toBe(201);
      expect((await open.call("GET", "/envs/wf/direct/deps")).body.locked_versions).toEqual({ "bunkerdemo-a": "1.0" });
    } finally {
      await open.close();
    }
  });
});
