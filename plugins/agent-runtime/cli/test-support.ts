// Shared by the `bunker agent` tests: the command run the way users run it (through the core's CLI); agent projects
// are made by the scaffolder as a separate program (create-agent/test-support.ts).
import { resolve } from "node:path";
import { run } from "../../../test/support/processes";

export { createAgent, freePort, quietly, TempDirs, testEnv, useWorkspace } from "../../../create-agent/test-support";

/** argv prefix of `bunker agent`: core/cli.ts finds the command in this plugin's `commands`. */
export const AGENT_COMMAND = [process.execPath, resolve(import.meta.dir, "../../../core/cli.ts"), "agent"];

export const agentCli = (args: string[], options: { cwd: string; env: Record<string, string>; stdin?: string }) =>
  run([...AGENT_COMMAND, ...args], options);
