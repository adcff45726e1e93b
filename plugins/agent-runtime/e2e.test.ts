// End to end over a real port: deploy the example agents, run each in its own liteboxd sandbox (bubblewrap),
// invoke them as JSON and as streams through the typed client, and close the sessions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../../test/support/eventually";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "../liteboxd/index";
import { loadAgentConfig } from "bunker/agent-config";
import { AgentRuntimeClient, InvocationError, SandboxCreationError, SessionNotFoundError, TemplateNotFoundError, type SandboxSession } from "./client";
import agentRuntime from "./index";

const tmp = mkdtempSync(join(tmpdir(), "agent-e2e-"));
let bunker: Bunker;
let client: AgentRuntimeClient;

/** Deploys a copy of an example (or fixture) project, or a project directory made by the test. */
async function deploy(example: string, from = join(import.meta.dir, "examples", example)) {
  const dir = join(tmp, example);
  if (from !== dir) cpSync(from, dir, { recursive: true });
  const res = await fetch(`${bunker.baseUrl}/agent-runtime/agents/deploy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: dir }),
  });
  const body = (await res.json()) as { status: { phase: string; template_id: string; build_id: string }; error?: unknown };
  if (res.status !== 201) throw new Error(`deploy failed: ${JSON.stringify(body)}`);
  return { dir, ...body };
}

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd, agentRuntime],
    config: {
      dataDir: join(tmp, "data"),
      log: { level: "silent" },
      server: { port: 0, host: "127.0.0.1" },
      plugins: { "agent-runtime": { reapIntervalSeconds: 1, binaryFiles: true } },
    },
  });
  await bunker.listen();
  client = new AgentRuntimeClient({ apiKey: "open-mode", baseUrl: bunker.baseUrl, timeoutMs: 60_000, config: { maxRetries: 0 } });
});

afterAll(async () => {
  await client?.closeAllSessions().catch(() => undefined);
  await bunker?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("a TypeScript agent project", () => {
  let session: SandboxSession;

  test("deploying records deployed status in the database and in agent.yaml", async () => {
    const result = await deploy("echo-agent");
    expect(result.status.phase).toBe("deployed");
    expect(result.status.template_id).toBe("echo-agent");
    expect(result.status.build_id).toMatch(/^build_/);
    const onDisk = await loadAgentConfig(result.dir);
    expect(onDisk.status?.phase).toBe("deployed");
    expect(await Bun.file(join(result.dir, "agent.yaml")).text()).toContain("# run with Bun");
    const template = await client.getTemplate("echo-agent");
    expect(template.metadata.agent.metadata.author).toBe("dev@example.com");
    expect((await client.listTemplates({ tags: ["typescript"] })).map((t) => t.template_id)).toEqual(["echo-agent"]);
    expect(await client.listTemplates({ tags: ["python"] })).toEqual([]);
  });

  test("a session is a new sandbox running the agent, ready when /ping answers", async () => {
    session = await client.createSession("echo-agent");
    expect(session.status).toBe("active");
    expect(session.hostUrl).toBe(`${bunker.baseUrl}/agent-runtime/sessions/${session.sandboxId}`);
    expect((await session.ping()).status).toBe("Healthy");
    expect((await client.listSessions()).map((s) => s.sandboxId)).toContain(session.sandboxId);
  });

  test("a JSON invocation reaches the agent with the session id, and memory persists across calls", async () => {
    const first = await session.invoke({ prompt: "hello" });
    expect(first.status).toBe("success");
    expect(first.result).toEqual({ echo: "hello", invocations: 1, session: session.sandboxId });
    const second = await session.invoke("again");
    expect((second.result as { invocations: number }).invocations).toBe(2);
  });

  test("a streaming invocation yields each chunk as the agent yields it", async () => {
    const chunks: unknown[] = [];
    for await (const chunk of session.invoke({ prompt: "one two three", stream: true }, { stream: true })) chunks.push(chunk);
    expect(chunks).toEqual([
      { index: 0, token: "one" },
      { index: 1, token: "two" },
      { index: 2, token: "three" },
    ]);
  });

  test("frames arrive while the agent is still generating, and breaking off reaches the agent", async () => {
    const stream = session.invoke({ prompt: "a b c d e f g h i j k l m n o p", stream: true, delay_ms: 150 }, { stream: true });
    const first = await stream.next();
    expect(first.value).toEqual({ index: 0, token: "a" });
    expect((await session.ping()).status).toBe("HealthyBusy"); // still generating the rest
    await stream.return(undefined); // the caller goes away
    await eventually(async () => (await session.ping()).status === "Healthy", "the session's agent to answer /ping Healthy");
  });

  test("refresh extends the session's expiry", async () => {
    const before = (await client.getSession(session.sandboxId))!.toJSON().expires_at;
    await session.refresh(3600);
    expect(Date.parse(session.toJSON().expires_at)).toBeGreaterThan(Date.parse(before));
  });

  test("a paused session refuses invocations, and resuming brings back the same agent with its memory", async () => {
    const before = ((await session.invoke("count")).result as { invocations: number }).invocations;
    await session.pause();
    expect(session.isPaused).toBe(true);
    expect(await session.getStatus()).toBe("paused");
    const refused = await session.invoke("while paused").catch((e) => e);
    expect(refused).toBeInstanceOf(InvocationError);
    expect(refused.errorCode).toBe("SESSION_PAUSED");
    await session.resume();
    expect(await session.getStatus()).toBe("active");
    expect((await session.ping()).status).toBe("Healthy");
    expect(((await session.invoke("after")).result as { invocations: number }).invocations).toBe(before + 1);
  });

  test("closing deletes the sandbox and the session is gone", async () => {
    await session.close();
    expect(await session.getStatus()).toBe("closed");
    expect(await client.getSession(session.sandboxId)).toBeNull();
    const error = await session.invoke({ prompt: "late" }).catch((e) => e);
    expect(error).toBeInstanceOf(SessionNotFoundError);
  });

  test("a one-shot invoke by template id creates a session, invokes and closes it", async () => {
    const before = (await client.listSessions()).length;
    const response = await client.invokeAgent("echo-agent", { prompt: "once" });
    expect(response.result).toMatchObject({ echo: "once", invocations: 1 });
    await eventually(async () => (await client.listSessions()).length === before, "the one-shot session to close");
  });

  test("a session without invocations for inactiveAfterSeconds reads inactive, and the next invocation makes it active", async () => {
    const quiet = await client.createSession("echo-agent");
    const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
    await bunker.db.sql`UPDATE agent_sessions SET last_activity = ${twoMinutesAgo} WHERE session_id = ${quiet.sandboxId}`;
    expect(await quiet.getStatus()).toBe("inactive");
    expect((await client.listSessions()).find((s) => s.sandboxId === quiet.sandboxId)?.status).toBe("inactive");
    await quiet.invoke({ prompt: "wake" });
    expect(await quiet.getStatus()).toBe("active");
    await quiet.close();
  });

  test("an idle session is closed by the reaper", async () => {
    const idle = await client.createSession("echo-agent");
    await bunker.db.sql`UPDATE agent_sessions SET last_activity = ${"2000-01-01T00:00:00.000Z"} WHERE session_id = ${idle.sandboxId}`;
    await eventually(async () => (await idle.getStatus()) === "closed", "the reaper to close the idle session", 15_000);
  });

  test("redeploying makes a new template version", async () => {
    const before = await client.getTemplate("echo-agent");
    const again = await deploy("echo-agent");
    expect(again.status.phase).toBe("deployed");
    const after = await client.getTemplate("echo-agent");
    expect(after.template_version).toBe(before.template_version + 1);
    expect(after.metadata.agent.status?.build_id).toBe(again.status.build_id);
  });

  test("unknown templates raise TemplateNotFoundError", async () => {
    expect(client.createSession("no-such-agent")).rejects.toBeInstanceOf(TemplateNotFoundError);
    expect(await client.templateExists("no-such-agent")).toBe(false);
  });
});

describe("the liteboxd template behind an agent", () => {
  test("keeps the whole AgentConfig as metadata, probes /ping over HTTP, and starts the agent itself", async () => {
    const res = await fetch(`${bunker.baseUrl}/api/v1/templates/echo-agent`);
    expect(res.status).toBe(200);
    const template = (await res.json()) as { latestVersion: number; spec: Record<string, any> };
    const agent = (await client.getTemplate("echo-agent")).metadata.agent;
    expect(template.latestVersion).toBe((await client.getTemplate("echo-agent")).template_version);
    expect(template.spec.metadata).toEqual({ agent });
    expect(agent.status?.phase).toBe("deployed");
    expect(template.spec.readinessProbe.httpGet).toEqual({ path: "/ping", port: 8080 });
    expect(template.spec.command).toEqual(["bun", "run", "agent.ts"]);
  });

  test("an agent that never answers /ping fails session creation within its startup timeout, leaving no sandbox", async () => {
    const dir = join(tmp, "mute-agent");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    await Bun.write(join(dir, "agent.ts"), "await new Promise(() => {}); // never listens\n");
    await Bun.write(
      join(dir, "agent.yaml"),
      "apiVersion: v1\nkind: Agent\nmetadata:\n  name: mute-agent\n  version: '1'\n  author: dev@example.com\nspec:\n  entrypoint: agent.ts\n  runtime:\n    timeout: 2\n",
    );
    await deploy("mute-agent", dir);
    const error = await client.createSession("mute-agent").catch((e) => e);
    expect(error).toBeInstanceOf(SandboxCreationError);
    expect(error.message).toContain("did not finish within 2s");
    const sandboxes = (await (await fetch(`${bunker.baseUrl}/api/v1/sandboxes?include_terminating=false`)).json()) as { items: { template?: string }[] };
    expect(sandboxes.items.filter((s) => s.template === "mute-agent")).toEqual([]);
  });

  test("a project's binary files reach the agent byte for byte", async () => {
    const dir = join(tmp, "binary-agent");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    const asset = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, ...crypto.getRandomValues(new Uint8Array(4096))]);
    await Bun.write(join(dir, "assets", "logo.png"), asset);
    await Bun.write(
      join(dir, "agent.ts"),
      [
        'import { AgentRuntimeApp } from "bunker/agent";',
        "const app = new AgentRuntimeApp();",
        'app.entrypoint(async () => { const bytes = new Uint8Array(await Bun.file("assets/logo.png").arrayBuffer());',
        '  return { size: bytes.byteLength, sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex") }; });',
        "app.run();",
      ].join("\n"),
    );
    await Bun.write(join(dir, "agent.yaml"), "apiVersion: v1\nkind: Agent\nmetadata:\n  name: binary-agent\n  version: '1'\n  author: dev@example.com\nspec:\n  entrypoint: agent.ts\n");
    expect((await deploy("binary-agent", dir)).status.phase).toBe("deployed");
    await using session = await client.createSession("binary-agent");
    expect((await session.invoke({})).result).toEqual({ size: asset.byteLength, sha256: new Bun.CryptoHasher("sha256").update(asset).digest("hex") });
  });
});

describe("npm dependencies of an agent project", () => {
  const fixture = join(import.meta.dir, "fixtures", "deps-agent");

  test("are installed at deploy without running scripts, and the agent imports them by name", async () => {
    rmSync("/tmp/deps-agent-postinstall", { force: true });
    const deployed = await deploy("deps-agent", fixture);
    expect(deployed.status.phase).toBe("deployed");
    await using session = await client.createSession("deps-agent");
    expect((await session.invoke({ name: "ada" })).result).toEqual({ greeting: "hello, ada, from node_modules" });
    expect(existsSync("/tmp/deps-agent-postinstall")).toBe(false);
  });

  test("a local dependency outside the project, or a workspace one, is refused with 400 INVALID_DEPENDENCY", async () => {
    for (const [name, spec] of [["escape-agent", "file:../../../../../etc"], ["workspace-agent", "workspace:*"]] as const) {
      const dir = join(tmp, name);
      cpSync(fixture, dir, { recursive: true });
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      pkg.dependencies.greeting = spec;
      writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
      const res = await fetch(`${bunker.baseUrl}/agent-runtime/agents/deploy`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path: dir }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("INVALID_DEPENDENCY");
    }
  });

  test("a dependency that cannot be installed fails the deploy with 422 and bun's reason", async () => {
    const dir = join(tmp, "broken-deps-agent");
    cpSync(fixture, dir, { recursive: true });
    rmSync(join(dir, "vendor", "greeting", "package.json"));
    writeFileSync(join(dir, "agent.yaml"), readFileSync(join(dir, "agent.yaml"), "utf8").replace("name: deps-agent", "name: broken-deps-agent"));
    const res = await fetch(`${bunker.baseUrl}/agent-runtime/agents/deploy`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path: dir }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(422);
    expect(body.error.code).toBe("DEPENDENCY_INSTALL_FAILED");
    expect((await client.getTemplate("broken-deps-agent")).status).toBe("failed");
  });
});

describe("pausing a session", () => {
  test("freezes the agent's processes (its timer stops) and resuming thaws them with memory kept", async () => {
    await deploy("ticker-agent", join(import.meta.dir, "fixtures", "ticker-agent"));
    await using session = await client.createSession("ticker-agent");
    const ticks = async (body: Record<string, number> = {}) => (await session.invoke(body)).result as { ticks: number; between?: number; oldest: number };
    const first = await ticks();
    await eventually(async () => (await ticks()).ticks >= first.ticks + 3, "three more ticks"); // the timer runs
    await session.pause();
    const pausedAt = Date.now();
    await Bun.sleep(300);
    const resumingAt = Date.now();
    await session.resume();
    const after = await ticks({ from: pausedAt + 1, to: resumingAt - 1 });
    expect(after.between).toBe(0); // not one tick while frozen
    expect(after.ticks).toBeGreaterThanOrEqual(first.ticks + 3); // the same process: its count was kept
    expect(after.oldest).toBeLessThan(pausedAt);
    await eventually(async () => (await ticks()).ticks > after.ticks, "a tick after resuming"); // and it ticks again
  });

  test("closing a paused session deletes its sandbox", async () => {
    const session = await client.createSession("ticker-agent");
    await session.pause();
    await session.close();
    expect(await session.getStatus()).toBe("closed");
    await eventually(async () => (await fetch(`${bunker.baseUrl}/api/v1/sandboxes/${session.sandboxId}`)).status === 404, "the sandbox to be deleted");
  });
});

describe("the host's way to an agent", () => {
  test("goes through liteboxd's port gateway, so a socket or symlink the sandbox plants in its workspace is never used", async () => {
    // A host socket the sandbox would love the host (root) to talk to.
    let hijacked = 0;
    const hostSocket = join(tmp, "host-service.sock");
    const decoy = Bun.serve({ unix: hostSocket, fetch: () => (hijacked++, Response.json({ result: "hijacked", status: "success" })) });
    try {
      await using session = await client.createSession("echo-agent");
      const planted = await fetch(`${bunker.baseUrl}/api/v1/sandboxes/${session.sandboxId}/exec`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          command: ["/bin/sh", "-c", `mkdir -p /workspace/.bunker && for f in agent.sock relay.sock; do rm -f /workspace/.bunker/$f; ln -s ${hostSocket} /workspace/.bunker/$f; done`],
        }),
      });
      expect(((await planted.json()) as { exit_code: number }).exit_code).toBe(0);
      expect((await session.invoke({ prompt: "still me" })).result).toMatchObject({ echo: "still me", session: session.sandboxId });
      expect((await session.ping()).status).toBe("Healthy");
      expect(hijacked).toBe(0);
    } finally {
      decoy.stop(true);
    }
  });

  test("a large body with a Content-Length streams through whole, and one over the host's limit is a 413", async () => {
    await using session = await client.createSession("echo-agent");
    const prompt = "x".repeat(300 * 1024);
    const res = await fetch(`${session.hostUrl}/invocations`, { method: "POST", body: JSON.stringify({ prompt }), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: { echo: string } }).result.echo.length).toBe(prompt.length);
    const tooLarge = await fetch(`${session.hostUrl}/invocations`, { method: "POST", body: new Uint8Array(17 * 1024 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  test("a chunked request body streams through to the agent", async () => {
    await using session = await client.createSession("echo-agent");
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"prompt": '));
        controller.enqueue(encoder.encode('"sent in pieces"}'));
        controller.close();
      },
    });
    const res = await fetch(`${session.hostUrl}/invocations`, { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: { echo: string } }).result.echo).toBe("sent in pieces");
  });
});

describe("a Python agent on the AgentCore contract", () => {
  test("runs in a session and streams through the client", async () => {
    await deploy("python-agent");
    await using session = await client.createSession("python-agent");
    const json = await session.invoke({ prompt: "hi from python" });
    expect(json.result).toMatchObject({ echo: "hi from python", language: "python", session: session.sandboxId });
    const chunks: unknown[] = [];
    for await (const chunk of client.invokeAgentStream("python-agent", { prompt: "a b", stream: true }, { sandboxId: session.sandboxId })) {
      chunks.push(chunk);
    }
    expect(chunks).toEqual([
      { index: 0, token: "a" },
      { index: 1, token: "b" },
    ]);
  });
});
