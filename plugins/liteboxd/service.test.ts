// The typed `liteboxd.sandboxes` service as another plugin uses it: create from a template, exec, reach a port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bunker, BunkerServices } from "bunker/core";
import { startWithServices } from "./testdata/with-services";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-service-"));
let bunker: Bunker;
let sandboxes: BunkerServices["liteboxd.sandboxes"];
let templates: BunkerServices["liteboxd.templates"];

beforeAll(async () => {
  ({ bunker, sandboxes, templates } = await startWithServices(dataDir));
  const res = await fetch(`${bunker.baseUrl}/api/v1/templates`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      // Created in open mode (owner "local") and used by "agent-user": only a public template allows that.
      name: "web",
      isPublic: true,
      spec: {
        image: "host",
        command: ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory", "/workspace"],
        readinessProbe: { exec: { command: ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8000))"] }, periodSeconds: 0, failureThreshold: 50 },
        files: [{ destination: "/workspace/index.html", content: "<h1>from the sandbox</h1>" }],
      },
    }),
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the liteboxd.sandboxes service", () => {
  test("another plugin creates a sandbox from a template, waits for it and runs a command", async () => {
    const created = await sandboxes.create({ template: "web", overrides: { env: { WHO: "consumer" } } }, "agent-user");
    const ready = await sandboxes.waitForReady(created.id, "agent-user", 30_000);
    expect(ready.status).toBe("running");
    const r = await sandboxes.exec(created.id, { command: ["sh", "-c", "echo $WHO"] }, "agent-user");
    expect(r.stdout).toBe("consumer\n");
    await expect(sandboxes.get(created.id, "someone-else")).rejects.toThrow("not found");
    await sandboxes.remove(created.id, "agent-user");
  });

  test("a port inside the sandbox is reachable from the host through portTarget", async () => {
    const { id } = await sandboxes.create({ template: "web" }, "agent-user");
    await sandboxes.waitForReady(id, "agent-user", 30_000);
    const target = await sandboxes.portTarget(id, 8000, "agent-user");
    expect(target.host).toBe("127.0.0.1");
    const page = await fetch(`http://${target.host}:${target.port}/index.html`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("<h1>from the sandbox</h1>");

    const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => i % 256);
    await sandboxes.upload(id, "/workspace/big.bin", new Response(big).body!, "agent-user");
    const res = await fetch(`http://${target.host}:${target.port}/big.bin`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(big);

    const closed = await sandboxes.portTarget(id, 8001, "agent-user");
    const refused = await fetch(`http://${closed.host}:${closed.port}/`).then((r) => r.status, () => "refused");
    expect(refused).toBe("refused");
    await sandboxes.remove(id, "agent-user");
  });

  test("waitForReady rejects as soon as the startup fails, with the reason", async () => {
    await templates.create({ name: "broken", spec: { image: "host", startupScript: "echo no >&2; exit 3" } }, "agent-user");
    const { id } = await sandboxes.create({ template: "broken" }, "agent-user");
    const error = await sandboxes.waitForReady(id, "agent-user", 30_000).catch((e) => e);
    expect(error).toMatchObject({ status: 409, code: "SANDBOX_NOT_RUNNING" });
    expect(error.message).toContain("startupScript exited with code 3");
    await sandboxes.remove(id, "agent-user");
  });

  test("waitForReady gives up after its timeout while the sandbox is still pending", async () => {
    await templates.create({ name: "slow", spec: { image: "host", startupScript: "sleep 30" } }, "agent-user");
    const { id } = await sandboxes.create({ template: "slow" }, "agent-user");
    const error = await sandboxes.waitForReady(id, "agent-user", 200).catch((e) => e);
    expect(error).toMatchObject({ status: 504, code: "SANDBOX_NOT_READY" });
    expect((await sandboxes.get(id, "agent-user")).status).toBe("pending");
    await sandboxes.remove(id, "agent-user");
  });
});
