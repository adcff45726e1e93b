// Where uv gets its packages from, and how package lists become uv arguments.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { offlineIndex, testBunker } from "../test-support";
import { packageArgs, resolveIndexUrl } from "./uv";

describe("choosing the package index", () => {
  const pip = async () => "https://pip.example.invalid/simple";
  test("the plugin's config wins over UV_DEFAULT_INDEX and pip's configuration", async () => {
    expect(await resolveIndexUrl("https://config.example.invalid/simple", { UV_DEFAULT_INDEX: "https://env.example.invalid" }, pip)).toBe(
      "https://config.example.invalid/simple",
    );
  });
  test("UV_DEFAULT_INDEX comes next, then the index pip is configured with, then uv's own default", async () => {
    expect(await resolveIndexUrl(undefined, { UV_DEFAULT_INDEX: "https://env.example.invalid" }, pip)).toBe("https://env.example.invalid");
    expect(await resolveIndexUrl(undefined, {}, pip)).toBe("https://pip.example.invalid/simple");
    expect(await resolveIndexUrl(undefined, {}, async () => undefined)).toBeUndefined();
  });

  test("the configured index URL is the one uv really resolves from (a PEP 503 index on loopback)", async () => {
    const wheels = await offlineIndex();
    const requested: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const path = new URL(req.url).pathname;
        requested.push(path);
        const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
        if (project) {
          const files = readdirSync(wheels).filter((f) => f.startsWith(project.replace(/-/g, "_") + "-"));
          if (!files.length) return new Response("not found", { status: 404 });
          return new Response(`<html><body>${files.map((f) => `<a href="/files/${f}">${f}</a>`).join("")}</body></html>`, {
            headers: { "content-type": "text/html" },
          });
        }
        if (path.startsWith("/files/")) return new Response(Bun.file(join(wheels, path.slice("/files/".length))));
        return new Response("not found", { status: 404 });
      },
    });
    const index = `http://127.0.0.1:${server.port}/simple`;
    const tb = await testBunker({ online: true, config: { indexUrl: index } });
    try {
      const res = await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "indexed", packages: ["bunkerdemo-b"] });
      expect(res.status).toBe(201);
      expect(requested).toContain("/simple/bunkerdemo-b/");
      expect(readFileSync(join(tb.localEnvs, "wf", "indexed", "v1", "uv.lock"), "utf8")).toContain(`registry = "${index}"`);
    } finally {
      await tb.close();
      server.stop(true);
    }
  });
});

describe("package arguments", () => {
  test("requirements follow a -- so none can be read as an option", () => {
    expect(packageArgs(["numpy>=1", "pandas"])).toEqual(["--", "numpy>=1", "pandas"]);
  });
  test("options a server allows go before the -- and are split into words", () => {
    expect(packageArgs(["-e ./pkg", "numpy"])).toEqual(["-e", "./pkg", "--", "numpy"]);
  });
});
