// Shared by the `bunker agent` tests: the command run the way users run it (through the core's CLI), and agent
// projects made by the scaffolder as a separate program.
import { resolve } from "node:path";
import { run } from "../../../test/support/processes";

export { freePort, quietly, TempDirs, testEnv } from "../../../test/support/processes";

/** argv prefix of `bunker agent`: core/cli.ts finds the command in this plugin's `commands`. */
export const AGENT_COMMAND = [process.execPath, resolve(import.meta.dir, "../../../core/cli.ts"), "agent"];
const CREATE_AGENT = resolve(import.meta.dir, "../../../create-agent/index.ts");

export const agentCli = (args: string[], options: { cwd: string; env: Record<string, string>; stdin?: string }) =>
  run([...AGENT_COMMAND, ...args], options);

export const createAgent = (args: string[], options: { cwd: string; env: Record<string, string> }) =>
  run([process.execPath, CREATE_AGENT, ...args], options);
