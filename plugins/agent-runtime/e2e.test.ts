// End to end over a real port: deploy the example agents, run each in its own liteboxd sandbox (bubblewrap),
// invoke them as JSON and as streams through the typed client, and close the sessions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "../liteboxd/index";
import { loadAgentConfig } from "./agent-config";
import { AgentRuntimeClient, InvocationError, SandboxOperationError, SessionNotFoundError, TemplateNotFoundError, type SandboxSession } from "./client";
import agentRuntime from "./index";

const tmp = mkdtempSync(join(tmpdir(), "agent-e2e-"));
let bunker: Bunker;
let client: AgentRuntimeClient;

async function deploy(example: string) {
  const dir = join(tmp, example);
  cpSync(join(import.meta.dir, "examples", example), dir, { recursive: true });
  const res = await fetch(`${bunker.baseUrl}/agent-runtime/agents/deploy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: dir }),
  });
  const body = (await res.json()) as { status: { phase: string; template_id: string; build_id: string }; error?: unknown };
  if (res.status !== 201) throw new Error(`deploy failed: ${JSON.stringify(body)}`);
  return { dir, ...body };
}

async function until(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(25);
  }
}

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd, agentRuntime],
    config: {
      dataDir: join(tmp, "data"),
      log: { level: "silent" },
      server: { port: 0, host: "127.0.0.1" },
      plugins: { "agent-runtime": { reapIntervalSeconds: 1 } },
    },
  });
  await bunker.listen();
  client = new AgentRuntimeClient({ apiKey: "open-mode", baseUrl: bunker.baseUrl, timeout: 60, config: { maxRetries: 0 } });
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
    await until(async () => (await session.ping()).status === "Healthy");
  });

  test("refresh extends the session's expiry", async () => {
    const before = (await client.getSession(session.sandboxId))!.toJSON().expires_at;
    await session.refresh(3600);
    expect(Date.parse(session.toJSON().expires_at)).toBeGreaterThan(Date.parse(before));
  });

  test("pause answers SandboxOperationError until liteboxd can freeze sandboxes", async () => {
    const error = await session.pause().catch((e) => e);
    expect(error).toBeInstanceOf(SandboxOperationError);
    expect(error.errorCode).toBe("PAUSE_UNSUPPORTED");
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
    await until(async () => (await client.listSessions()).length === before);
  });

  test("an idle session is closed by the reaper", async () => {
    const idle = await client.createSession("echo-agent");
    await bunker.db.sql`UPDATE agent_sessions SET last_activity = ${"2000-01-01T00:00:00.000Z"} WHERE session_id = ${idle.sandboxId}`;
    await until(async () => (await idle.getStatus()) === "closed", 15_000);
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
