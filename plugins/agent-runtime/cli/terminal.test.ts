// `bunker agent configure` answered through a real pseudo-terminal (test/support/terminal.ts).
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAgentConfig } from "bunker/agent-config";
import { Terminal } from "../../../test/support/terminal";
import { AGENT_COMMAND, useWorkspace } from "./test-support";

let terminal: Terminal;
const { cwd, env, scaffold } = useWorkspace({ beforeCleanup: () => terminal?.close() });

beforeAll(() => {
  terminal = new Terminal(cwd, env);
});

describe("bunker agent configure on a terminal", () => {
  test("offers the current values, refuses a bad limit, and writes the answers back with comments kept", async () => {
    const dir = await scaffold("my-bot", ["-t", "streaming", "--name", "bot-one", "--entrypoint", "main.ts", "--no-install"]);
    terminal.start("configure", [...AGENT_COMMAND, "configure", "--dir", dir]);
    await terminal.answer("configure", "? Agent name (bot-one):", "bot-two");
    await terminal.answer("configure", "? Version (0.1.0):", "1.0.0");
    await terminal.answer("configure", "? Author email (tester@example.com):", "");
    await terminal.answer("configure", "? Description (An agent made with Bunker):", "");
    await terminal.answer("configure", "? Tags (comma-separated):", "demo,tty");
    await terminal.answer("configure", "? Entrypoint (main.ts):", "");
    await terminal.answer("configure", "? Start timeout (seconds) (30):", "");
    await terminal.answer("configure", "? Memory limit (512Mi):", "lots");
    await terminal.expectScreen("configure", "! spec.runtime.memory_limit must be a size like");
    await terminal.answer("configure", /must be a size like.*\n\? Memory limit \(512Mi\): *$/m, "2Gi");
    await terminal.answer("configure", "? CPU limit (1):", "");
    await terminal.answer("configure", "? Sandbox template id:", "");
    const shown = await terminal.expectScreen("configure", /EXIT=\d+/);
    expect(shown).toContain("EXIT=0");
    expect(shown).toContain("metadata.name: bot-one -> bot-two");

    const config = await loadAgentConfig(dir);
    expect(config.metadata).toMatchObject({ name: "bot-two", version: "1.0.0", tags: ["demo", "tty"] });
    expect(config.spec.runtime).toEqual({ timeout: 30, memory_limit: "2Gi", cpu_limit: "1" });
    expect(readFileSync(join(dir, "agent.yaml"), "utf8")).toContain("# a DNS label: lowercase letters, digits and '-'");
  });
});
