// Shared by the create-agent tests: run the scaffolder as a subprocess in temp dirs, with a known git identity.
import { join } from "node:path";
import { run } from "../test/support/processes";

export { freePort, quietly, run, TempDirs, testEnv, type Run } from "../test/support/processes";

export const CREATE_AGENT = join(import.meta.dir, "index.ts");

export const createAgent = (args: string[], options: { cwd: string; env: Record<string, string> }) =>
  run([process.execPath, CREATE_AGENT, ...args], options);
