// Bad or oversized input is a 400 with a stable code, never a 500, and an oversized value is never echoed back whole.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testBunker, type TestBunker } from "./test-support";

let tb: TestBunker;
beforeAll(async () => {
  tb = await testBunker();
  expect((await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "limits" })).status).toBe(201);
});
afterAll(() => tb.close());

describe("numbers in queries", () => {
  test.each(["limit=2.5", "limit=0", "limit=1001", "limit=ten", "limit=1e400"])("GET /envs/operations?%s is 400 VALIDATION_FAILED", async (query) => {
    const res = await tb.call("GET", `/envs/operations?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("an integer limit within bounds is used", async () => {
    const res = await tb.call("GET", "/envs/operations?limit=1");
    expect(res.status).toBe(200);
    expect(res.body.operations).toHaveLength(1);
  });

  test.each(["wait=-1", "wait=soon", "wait=3601"])("?%s on a mutation is 400 VALIDATION_FAILED", async (query) => {
    const res = await tb.call("POST", `/envs/wf/limits/sync?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("an incomplete env filter on /envs/operations is 400 VALIDATION_FAILED naming the missing parts", async () => {
    const res = await tb.call("GET", "/envs/operations?workflow_id=wf");
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["node_id", "version_id"]);
  });
});

describe("package specs uv cannot take", () => {
  const spec = 'bunkerdemo-a==1.0 ; python_version>"0" --pre';

  test("a spec with a trailing option is 400 INVALID_PACKAGES naming it, on create and on add", async () => {
    const created = await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "trailing", packages: [spec] });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: "INVALID_PACKAGES", details: { packages: [spec] } });
    const added = await tb.call("POST", "/envs/wf/limits/deps", { packages: [spec] });
    expect(added.status).toBe(400);
    expect(added.body.error).toMatchObject({ code: "INVALID_PACKAGES", details: { packages: [spec] } });
  });

  test("specs built to make the requirement grammar backtrack are refused at once, many in one request", async () => {
    // Long blank runs where the grammar allows blanks: each took seconds to refuse (a ReDoS), now milliseconds.
    const adversarial = [
      `a${" ".repeat(165)}==1${" ".repeat(330)}!`,
      `a==1${" ".repeat(115)};${" ".repeat(115)}python_version${" ".repeat(230)}!`,
    ];
    const packages = Array.from({ length: 20 }, (_, i) => adversarial[i % adversarial.length]!);
    const res = await tb.call("POST", "/envs/wf/limits/deps", { packages });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_PACKAGES");
  }, 5000);

  test("the same requirement with its marker and no option installs", async () => {
    const res = await tb.call("POST", "/envs/wf/limits/deps", { packages: ['bunkerdemo-a==1.0 ; python_version>"0"'] });
    expect(res.status).toBe(200);
    expect(res.body.locked_versions).toEqual({ "bunkerdemo-a": "1.0" });
  });
});

describe("size caps", () => {
  const huge = "w".repeat(50_000);
  const cases: Array<[string, string, string, unknown?]> = [
    ["a workflow id in the body", "POST", "/envs", { workflow_id: huge, node_id: "n" }],
    ["a node id in the path", "GET", `/envs/wf/${huge}`],
    ["a version id in the query", "GET", `/envs/wf/limits?version_id=${huge}`],
    ["an owner in the query", "GET", `/envs?owner=${huge}`],
    ["a workflow id in a list filter", "GET", `/envs?workflow_id=${huge}`],
    ["a python version", "POST", "/envs", { workflow_id: "wf", node_id: "n", python_version: huge }],
    ["one package spec", "POST", "/envs/wf/limits/deps", { packages: [`bunkerdemo-a${huge}`] }],
    ["too many package specs", "POST", "/envs/wf/limits/deps", { packages: Array.from({ length: 201 }, (_, i) => `p${i}`) }],
    ["code to run over 1 MiB", "POST", "/envs/wf/limits/run", { code: `# ${"x".repeat(1024 * 1024)}` }],
    ["idle hours past ten years", "POST", "/envs/cleanup", { idle_hours: 1e9 }],
  ];

  test.each(cases)("%s is 400 VALIDATION_FAILED without the value echoed", async (_what, method, path, body) => {
    const res = await tb.call(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(JSON.stringify(res.body)).not.toContain("w".repeat(1000));
  });

  test("a requirements file over 1 MiB is refused", async () => {
    const form = new FormData();
    form.set("workflow_id", "wf");
    form.set("node_id", "bigfile");
    form.set("requirements_file", new File([`# ${"x".repeat(1024 * 1024)}\n`], "requirements.txt"));
    const res = await tb.call("POST", "/envs", form);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("a long requirement line in a requirements file is 400 INVALID_PACKAGES quoting only its start", async () => {
    const form = new FormData();
    form.set("workflow_id", "wf");
    form.set("node_id", "longline");
    form.set("requirements_file", new File([`bunkerdemo-a${"w".repeat(5000)}\n`], "requirements.txt"));
    const res = await tb.call("POST", "/envs", form);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_PACKAGES");
    expect(res.body.error.details.packages[0]).toContain("5012 characters");
    expect(JSON.stringify(res.body)).not.toContain("w".repeat(1000));
  });
});
