// Over a real port: SSE progress for long operations, /health about the uv cache, and one real package index.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { testBunker, type TestBunker } from "./test-support";

interface SseEvent {
  event: string;
  data: any;
}

async function readEvents(res: Response): Promise<SseEvent[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("event:"))
    .map((block) => {
      const [eventLine, dataLine] = block.split("\n");
      return { event: eventLine!.slice("event: ".length), data: JSON.parse(dataLine!.slice("data: ".length)) };
    });
}

describe("server-sent progress", () => {
  let tb: TestBunker;
  let url: string;
  beforeAll(async () => {
    tb = await testBunker();
    url = (await tb.bunker.listen()).url;
  });
  afterAll(() => tb.close());

  const post = (path: string, body: unknown, accept = "text/event-stream") =>
    fetch(url + path, { method: "POST", headers: { accept, "content-type": "application/json" }, body: JSON.stringify(body) });

  test("create streams uv's progress lines and ends with the same result object", async () => {
    const res = await post("/envs", { workflow_id: "wf", node_id: "sse", packages: ["bunkerdemo-b"] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readEvents(res);
    expect(events.filter((e) => e.event === "progress").map((e) => e.data.line).join("\n")).toContain("bunkerdemo-b==1.0");
    expect(events.at(-1)).toMatchObject({ event: "result", data: { workflow_id: "wf", node_id: "sse", status: "created" } });
  });

  test("add and sync stream too; a failure after progress arrives as an error event", async () => {
    const sync = await readEvents(await post("/envs/wf/sse/sync", undefined));
    expect(sync.at(-1)).toMatchObject({ event: "result", data: { status: "synced", packages_installed: 2 } });
    const add = await readEvents(await post("/envs/wf/sse/deps", { packages: ["bunkerdemo-a==9.9"] }));
    expect(add.at(-1)!.event).toBe("error");
    expect(add.at(-1)!.data.error.code).toBe("PACKAGE_RESOLUTION_FAILED");
  });

  test("an error before any progress keeps its HTTP status", async () => {
    const res = await post("/envs", { workflow_id: "wf", node_id: "sse" });
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe("ENV_ALREADY_EXISTS");
  });

  test("without the Accept header the same route answers plain JSON", async () => {
    const res = await post("/envs", { workflow_id: "wf", node_id: "plain" }, "application/json");
    expect(res.status).toBe(201);
    expect((await res.json()).status).toBe("created");
  });
});

describe("uv set-up", () => {
  test("/health warns when the uv cache and the envs are on different filesystems", async () => {
    const shm = mkdtempSync("/dev/shm/env-fabric-cache-");
    const tb = await testBunker({ config: { cacheDir: shm } });
    try {
      const health = await tb.call("GET", "/health");
      const warning = health.body.warnings.find((w: { key: string }) => w.key === "env-fabric.cache");
      expect(warning.message).toContain("different filesystems");
    } finally {
      await tb.close();
      rmSync(shm, { recursive: true, force: true });
    }
  });

  test("envs and the shared uv cache on one filesystem raise no cache warning", async () => {
    const tb = await testBunker();
    try {
      const health = await tb.call("GET", "/health");
      expect(health.body.warnings.map((w: { key: string }) => w.key)).not.toContain("env-fabric.cache");
    } finally {
      await tb.close();
    }
  });

  test("a small real package installs from the configured package index", async () => {
    const tb = await testBunker({ online: true });
    try {
      const res = await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "online", packages: ["iniconfig"] });
      expect(res.status).toBe(201);
      const run = await tb.call("POST", "/envs/wf/online/run", { code: "import iniconfig; print(iniconfig.IniConfig.__name__)" });
      expect(run.body.stdout).toBe("IniConfig\n");
      expect(Object.keys((await tb.call("GET", "/envs/wf/online/deps")).body.locked_versions)).toEqual(["iniconfig"]);
    } finally {
      await tb.close();
    }
  }, 60_000);
});
