// The questions, answered through a real pseudo-terminal: tmux runs the command, send-keys types, capture-pane reads.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAgentConfig } from "../plugins/agent-runtime/agent-config.ts";
import { AGENT_CLI, CREATE_AGENT, TempDirs, testEnv, waitFor } from "./test-support";

const temp = new TempDirs();
const socket = `create-agent-test-${process.pid}`;
let cwd: string;
let env: Record<string, string>;

function tmux(...args: string[]): string {
  const proc = Bun.spawnSync(["tmux", "-L", socket, ...args], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${proc.stderr.toString()}`);
  return proc.stdout.toString();
}

/** Starts argv in a new tmux window on a terminal; the shell prints EXIT=<status> when it ends. */
function startOnTerminal(session: string, argv: string[]): void {
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const envFlags = Object.entries({ HOME: env.HOME!, GIT_CONFIG_GLOBAL: env.GIT_CONFIG_GLOBAL!, GIT_CONFIG_NOSYSTEM: "1" }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "60", "-c", cwd, ...envFlags, `${quoted}; echo EXIT=$?; sleep 60`);
}

const screen = (session: string) => tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-300");

async function expectScreen(session: string, text: string | RegExp): Promise<string> {
  return waitFor(() => {
    const shown = screen(session);
    return (typeof text === "string" ? shown.includes(text) : text.test(shown)) && shown;
  }, `${String(text)} on the terminal; it shows:\n${screen(session)}`);
}

/** Waits for the question, then types the answer and Enter. */
async function answer(session: string, question: string | RegExp, reply: string): Promise<void> {
  await expectScreen(session, question);
  if (reply) tmux("send-keys", "-t", session, "-l", reply);
  tmux("send-keys", "-t", session, "Enter");
}

beforeAll(() => {
  cwd = temp.make();
  env = testEnv(temp.make("create-agent-home-"));
});
afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    // already gone
  }
  temp.cleanup();
});

describe("create-agent on a terminal", () => {
  test("asks for each missing answer, offers git's email, and asks again after an invalid one", async () => {
    startOnTerminal("create", [process.execPath, CREATE_AGENT, "--no-install", "--no-git"]);
    await answer("create", "? Project directory (my-agent):", "my-bot");
    await expectScreen("create", "3. python");
    await answer("create", "? Template (basic):", "2");
    await answer("create", "? Agent name (my-bot):", "Bad Name");
    await expectScreen("create", "! name must be a DNS label");
    await answer("create", /! name must be a DNS label.*\n\? Agent name \(my-bot\): *$/m, "bot-one");
    await answer("create", "? Description (An agent made with Bunker):", "");
    await answer("create", "? Author email (tester@example.com):", "");
    await answer("create", "? Entrypoint (agent.ts):", "main.ts");
    const shown = await expectScreen("create", /EXIT=\d+/);
    expect(shown).toContain("EXIT=0");
    expect(shown).toContain("Next:");

    const dir = join(cwd, "my-bot");
    const config = await loadAgentConfig(dir);
    expect(config.metadata).toMatchObject({ name: "bot-one", author: "tester@example.com", description: "An agent made with Bunker" });
    expect(config.spec.entrypoint).toBe("main.ts");
    expect(readFileSync(join(dir, "main.ts"), "utf8")).toContain("async function*"); // the streaming template
    expect(existsSync(join(dir, "agent.ts"))).toBe(false);
  });

  test("asks before writing into a non-empty directory, and writes nothing when told no", async () => {
    const before = readFileSync(join(cwd, "my-bot", "agent.yaml"), "utf8");
    startOnTerminal("overwrite", [process.execPath, CREATE_AGENT, "my-bot", "-t", "basic", "--name", "x", "--description", "d", "--author", "a@b.co", "--entrypoint", "agent.ts", "--no-install", "--no-git"]);
    await answer("overwrite", "is not empty. Write into it anyway, replacing files with the same names? [y/N]:", "n");
    const shown = await expectScreen("overwrite", /EXIT=\d+/);
    expect(shown).toContain("EXIT=2");
    expect(readFileSync(join(cwd, "my-bot", "agent.yaml"), "utf8")).toBe(before);
  });
});

describe("bunker agent configure on a terminal", () => {
  test("offers the current values, refuses a bad limit, and writes the answers back with comments kept", async () => {
    const dir = join(cwd, "my-bot");
    startOnTerminal("configure", [process.execPath, AGENT_CLI, "configure", "--dir", dir]);
    await answer("configure", "? Agent name (bot-one):", "bot-two");
    await answer("configure", "? Version (0.1.0):", "1.0.0");
    await answer("configure", "? Author email (tester@example.com):", "");
    await answer("configure", "? Description (An agent made with Bunker):", "");
    await answer("configure", "? Tags (comma-separated):", "demo,tty");
    await answer("configure", "? Entrypoint (main.ts):", "");
    await answer("configure", "? Start timeout (seconds) (30):", "");
    await answer("configure", "? Memory limit (512Mi):", "lots");
    await expectScreen("configure", "! spec.runtime.memory_limit must be a size like");
    await answer("configure", /must be a size like.*\n\? Memory limit \(512Mi\): *$/m, "2Gi");
    await answer("configure", "? CPU limit (1):", "");
    await answer("configure", "? Sandbox template id:", "");
    const shown = await expectScreen("configure", /EXIT=\d+/);
    expect(shown).toContain("EXIT=0");
    expect(shown).toContain("metadata.name: bot-one -> bot-two");

    const config = await loadAgentConfig(dir);
    expect(config.metadata).toMatchObject({ name: "bot-two", version: "1.0.0", tags: ["demo", "tty"] });
    expect(config.spec.runtime).toEqual({ timeout: 30, memory_limit: "2Gi", cpu_limit: "1" });
    expect(readFileSync(join(dir, "agent.yaml"), "utf8")).toContain("# a DNS label: lowercase letters, digits and '-'");
  });
});
