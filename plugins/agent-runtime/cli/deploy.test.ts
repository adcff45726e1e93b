// Scaffold → `bunker agent deploy` → `bunker agent invoke` against a real Bunker server (liteboxd sandboxes).
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "../../liteboxd/index";
import agentRuntime from "../index";
import { loadAgentConfig } from "bunker/agent-config";
import { AGENT_COMMAND, agentCli, useWorkspace } from "./test-support";

let bunker: Bunker;
let url: string;
const { temp, cwd, env, scaffold } = useWorkspace({ beforeCleanup: () => bunker?.stop() });

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd, agentRuntime],
    config: { dataDir: join(temp.make("create-agent-server-"), "data"), log: { level: "silent" }, server: { port: 0 } },
  });
  url = (await bunker.listen()).url;
  env.BUNKER_URL = url;
});

async function scaffoldAndDeploy(name: string, template: string): Promise<string> {
  const dir = await scaffold(name, ["-t", template, "--no-install"]);
  const deployed = await agentCli(["deploy"], { cwd: dir, env });
  expect(deployed.stderr).toBe("");
  expect(deployed.code).toBe(0);
  expect(deployed.stdout).toContain(`deploying ${dir} to ${url} as ${name}`);
  expect(deployed.stdout).toContain("  deployed");
  return dir;
}

describe("deploying a scaffolded project", () => {
  test("writes the deployed status into agent.yaml and keeps its comments", async () => {
    const dir = await scaffoldAndDeploy("deployed-basic", "basic");
    const config = await loadAgentConfig(dir);
    expect(config.status).toMatchObject({ phase: "deployed", template_id: "deployed-basic", build_id: expect.stringMatching(/\S/) });
    expect(readFileSync(join(dir, "agent.yaml"), "utf8")).toContain("# an email address");

    const invoked = await agentCli(["invoke", "--input", "what is deployed"], { cwd: dir, env });
    expect(invoked.code).toBe(0);
    expect(JSON.parse(invoked.stdout)).toEqual({ answer: "You asked: what is deployed", words: 3, session: expect.any(String) });
  });

  test("an agent that fails on its input exits 1 with the agent's message", async () => {
    const result = await agentCli(["invoke", "--template-id", "deployed-basic", "--input", "{}"], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('send {"prompt": "..."}');
  });
});

describe("a deploy the server fails", () => {
  test("exits 1 with the server's reason and writes the failed status into agent.yaml", async () => {
    const dir = await scaffold("huge-agent", ["--no-install"]);
    // 9 MiB of zeros: a tiny archive to upload, but over the host's 8 MiB project limit once unpacked, so the build fails
    writeFileSync(join(dir, "weights.bin"), new Uint8Array(9 * 1024 * 1024));
    const result = await agentCli(["deploy"], { cwd: dir, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("larger than");
    const config = await loadAgentConfig(dir);
    expect(config.status?.phase).toBe("failed");
    expect(readFileSync(join(dir, "agent.yaml"), "utf8")).toContain("# an email address");
  });
});

describe("invoking with --stream", () => {
  test("prints each token of the streaming template as it arrives", async () => {
    const dir = await scaffoldAndDeploy("deployed-stream", "streaming");
    const proc = Bun.spawn([...AGENT_COMMAND, "invoke", "--stream", "--input", JSON.stringify({ prompt: "one two three", delay_ms: 400 })], {
      cwd: dir,
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    // The first token is on screen while the agent is still producing the others.
    expect(JSON.parse(text.split("\n")[0]!)).toEqual({ index: 0, token: "one", done: false });
    expect(proc.exitCode).toBeNull();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(await proc.exited).toBe(0);
    expect(text.trim().split("\n").map((line) => JSON.parse(line).token)).toEqual(["one", "two", "three"]);
  });

  test("streams a deployed Python agent, and answers it with JSON without --stream", async () => {
    const dir = await scaffoldAndDeploy("deployed-python", "python");
    const streamed = await agentCli(["invoke", "--stream", "--input", "tokens from python"], { cwd: dir, env });
    expect(streamed.code).toBe(0);
    expect(streamed.stdout.trim().split("\n").map((line) => JSON.parse(line).token)).toEqual(["tokens", "from", "python"]);
    const answered = await agentCli(["invoke", "--input", "hi", "--json"], { cwd: dir, env });
    expect(answered.code).toBe(0);
    expect(JSON.parse(answered.stdout)).toMatchObject({ status: "success", result: { answer: "You asked: hi", words: 1 } });
  });
});

describe("invoking inside a session", () => {
  test("--session sends the invocation to that session's agent", async () => {
    const res = await fetch(`${url}/agent-runtime/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ template_id: "deployed-basic" }),
    });
    expect(res.status).toBe(201);
    const session = (await res.json()) as { session_id: string };
    try {
      const result = await agentCli(["invoke", "--session", session.session_id, "--input", "in a session"], { cwd, env });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).session).toBe(session.session_id);
    } finally {
      await fetch(`${url}/agent-runtime/sessions/${session.session_id}`, { method: "DELETE" });
    }
  });

  test("an unknown session exits 3", async () => {
    const result = await agentCli(["invoke", "--session", "no-such-session", "--input", "hi"], { cwd, env });
    expect(result.code).toBe(3);
  });
});
