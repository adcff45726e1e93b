// The questions, answered through a real pseudo-terminal (test/support/terminal.ts).
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Terminal } from "../test/support/terminal";
import { loadAgentConfig } from "./agent-config";
import { CREATE_AGENT, useWorkspace } from "./test-support";

let terminal: Terminal;
const { cwd, env } = useWorkspace({ beforeCleanup: () => terminal?.close() });

beforeAll(() => {
  terminal = new Terminal(cwd, env);
});

describe("create-agent on a terminal", () => {
  test("asks for each missing answer, offers git's email, and asks again after an invalid one", async () => {
    terminal.start("create", [process.execPath, CREATE_AGENT, "--no-install", "--no-git"]);
    await terminal.answer("create", "? Project directory (my-agent):", "my-bot");
    await terminal.expectScreen("create", "3. python");
    await terminal.answer("create", "? Template (basic):", "2");
    await terminal.answer("create", "? Agent name (my-bot):", "Bad Name");
    await terminal.expectScreen("create", "! name must be a DNS label");
    await terminal.answer("create", /! name must be a DNS label.*\n\? Agent name \(my-bot\): *$/m, "bot-one");
    await terminal.answer("create", "? Description (An agent made with Bunker):", "");
    await terminal.answer("create", "? Author email (tester@example.com):", "");
    await terminal.answer("create", "? Entrypoint (agent.ts):", "main.ts");
    const shown = await terminal.expectScreen("create", /EXIT=\d+/);
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
    terminal.start("overwrite", [process.execPath, CREATE_AGENT, "my-bot", "-t", "basic", "--name", "x", "--description", "d", "--author", "a@b.co", "--entrypoint", "agent.ts", "--no-install", "--no-git"]);
    await terminal.answer("overwrite", "is not empty. Write into it anyway, replacing files with the same names? [y/N]:", "n");
    const shown = await terminal.expectScreen("overwrite", /EXIT=\d+/);
    expect(shown).toContain("EXIT=2");
    expect(readFileSync(join(cwd, "my-bot", "agent.yaml"), "utf8")).toBe(before);
  });
});
