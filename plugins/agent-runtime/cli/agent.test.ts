// `bunker agent configure | dev | invoke | deploy` run as real subprocesses: files on disk, real ports, a real
// Bunker server, and the exit statuses scripts rely on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "../../liteboxd/index";
import agentRuntime from "../index";
import { eventually } from "../../../test/support/eventually";
import { AGENT_COMMAND, agentCli, freePort, quietly, useWorkspace } from "./test-support";

const { temp, cwd, env, scaffold } = useWorkspace();

describe("agent configure with flags", () => {
  test("changes only the named fields and keeps every comment and the key order", async () => {
    const dir = await scaffold("conf-agent", ["--no-install"]);
    const before = readFileSync(join(dir, "agent.yaml"), "utf8");
    const result = await agentCli(["configure", "--dir", dir, "--version", "2.0.0", "--cpu-limit", "500m", "--json"], { cwd, env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).changes).toEqual([
      { field: "metadata.version", from: "0.1.0", to: "2.0.0" },
      { field: "spec.runtime.cpu_limit", from: "1", to: "500m" },
    ]);
    const after = readFileSync(join(dir, "agent.yaml"), "utf8");
    expect(after).toBe(before.replace('version: "0.1.0"', 'version: "2.0.0"').replace('cpu_limit: "1"', 'cpu_limit: "500m"'));
  });

  test("refuses a value agent.yaml's rules reject, with exit status 2, and leaves the file alone", async () => {
    const dir = join(cwd, "conf-agent");
    const before = readFileSync(join(dir, "agent.yaml"), "utf8");
    const result = await agentCli(["configure", "--author", "not-an-email"], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("metadata.author: must be an email address");
    expect(readFileSync(join(dir, "agent.yaml"), "utf8")).toBe(before);
  });

  test("says what is missing when there is no agent.yaml", async () => {
    const result = await agentCli(["configure", "--name", "x"], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("agent.yaml not found");
  });
});

describe("agent dev", () => {
  test("serves the agent and restarts it when a file changes, then stops it on Ctrl-C", async () => {
    const dir = await scaffold("dev-agent");
    const port = freePort();
    const proc = Bun.spawn([...AGENT_COMMAND, "dev", "--port", String(port)], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
    const base = `http://127.0.0.1:${port}`;
    const ask = async () => {
      const res = await fetch(`${base}/invocations`, { method: "POST", body: JSON.stringify({ prompt: "hot reload" }) });
      return ((await res.json()) as { result: { answer: string } }).result.answer;
    };
    try {
      expect(await eventually(() => quietly(ask), "the agent to answer", 15_000)).toBe("You asked: hot reload");
      const file = join(dir, "agent.ts");
      writeFileSync(file, readFileSync(file, "utf8").replace("You asked: ", "Reloaded: "));
      expect(await eventually(async () => (await quietly(ask)) === "Reloaded: hot reload" && "reloaded", "the edited agent to answer", 15_000)).toBe("reloaded");
    } finally {
      proc.kill("SIGINT");
    }
    expect(await proc.exited).toBe(0);
    const output = await new Response(proc.stdout).text();
    expect(output).toContain(`[agent dev] ready on ${base}`);
    expect(output).toContain("[agent dev] agent.ts changed: restarting");
    expect(output).toContain("[agent dev] stopped");
    await expect(fetch(`${base}/ping`)).rejects.toThrow(); // the agent went with it
  });

  test("runs a Python agent with python3", async () => {
    const dir = await scaffold("dev-python", ["-t", "python"]);
    const port = freePort();
    const proc = Bun.spawn([...AGENT_COMMAND, "dev", "--port", String(port), "--dir", dir], { cwd, env, stdout: "pipe", stderr: "pipe" });
    try {
      const ping = await eventually(() => quietly(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).json()), "the python agent", 15_000);
      expect(ping.status).toBe("Healthy");
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  });
});

describe("exit statuses against a server", () => {
  let bunker: Bunker;
  let url: string;
  beforeAll(async () => {
    bunker = await createBunker({
      builtins: false,
      plugins: [liteboxd, agentRuntime],
      config: { dataDir: join(temp.make("create-agent-server-"), "data"), log: { level: "silent" }, server: { port: 0 } },
    });
    url = (await bunker.listen()).url;
  });
  afterAll(async () => {
    await bunker?.stop();
  });

  test("invoking a template the server does not have exits 3", async () => {
    const result = await agentCli(["invoke", "--template-id", "nobody-home", "--input", "hi", "--url", url], { cwd, env });
    expect(result.stderr).toContain("nobody-home");
    expect(result.code).toBe(3);
  });

  test("a server nobody listens on exits 4", async () => {
    const result = await agentCli(["invoke", "--template-id", "x", "--input", "hi"], { cwd, env: { ...env, BUNKER_URL: `http://127.0.0.1:${freePort()}` } });
    expect(result.code).toBe(4);
  });

  test("a server that does not answer within --timeout exits 5", async () => {
    const silent = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const result = await agentCli(["invoke", "--template-id", "x", "--input", "hi", "--timeout", "0.5", "--url", `http://127.0.0.1:${silent.port}`], { cwd, env });
      expect(result.stderr).toContain("no answer within 0.5s");
      expect(result.code).toBe(5);
    } finally {
      silent.stop(true);
    }
  });

  test("a missing --input is a usage error, exit 2", async () => {
    const result = await agentCli(["invoke", "--template-id", "x", "--url", url], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--input TEXT is needed");
  });

  test("the server, key and prefix come from the config file when neither flags nor environment say", async () => {
    const config = join(temp.make("create-agent-cfg-"), "cli.yaml");
    writeFileSync(config, `url: ${url}\napiKey: bk_not_needed_on_an_open_server\n`);
    const result = await agentCli(["invoke", "--template-id", "from-file", "--input", "hi", "--json"], { cwd, env: { ...env, BUNKER_CLI_CONFIG: config } });
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).error.code).toBe("TEMPLATE_NOT_FOUND");
  });
});

describe("exit status when the key is refused", () => {
  test("a server that requires a key exits 6 without one", async () => {
    const bunker = await createBunker({
      builtins: false,
      plugins: [liteboxd, agentRuntime],
      config: { dataDir: join(temp.make("create-agent-server-"), "data"), log: { level: "silent" }, server: { port: 0 }, auth: { required: true } },
    });
    const { url } = await bunker.listen();
    try {
      const result = await agentCli(["invoke", "--template-id", "x", "--input", "hi", "--url", url], { cwd, env });
      expect(result.code).toBe(6);
    } finally {
      await bunker.stop();
    }
  });
});
