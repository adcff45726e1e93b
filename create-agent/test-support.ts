// Shared by the create-agent tests and the `bunker agent` tests (plugins/agent-runtime/cli): run the scaffolder as a
// subprocess in temp dirs, with a known git identity.
import { afterAll, expect } from "bun:test";
import { join } from "node:path";
import { run, TempDirs, testEnv } from "../test/support/processes";

export { freePort, quietly, run, TempDirs, testEnv, type Run } from "../test/support/processes";

export const CREATE_AGENT = join(import.meta.dir, "index.ts");

export const createAgent = (args: string[], options: { cwd: string; env: Record<string, string> }) =>
  run([process.execPath, CREATE_AGENT, ...args], options);

export interface Workspace {
  /** Temp dirs removed after the file's tests (make more with temp.make()). */
  temp: TempDirs;
  /** A fresh directory the tests run commands in. */
  cwd: string;
  /** testEnv with a fresh HOME; tests may add to it (e.g. BUNKER_URL once their server listens). */
  env: Record<string, string>;
  /** Scaffolds `name` in cwd without questions or git (extra arguments appended), expecting success; its directory. */
  scaffold(name: string, extra?: string[]): Promise<string>;
}

/** One test file's workspace: made now, removed after the file's tests, once beforeCleanup (stop a server, close a
 * terminal) has run. */
export function useWorkspace(options: { beforeCleanup?: () => unknown } = {}): Workspace {
  const temp = new TempDirs();
  const cwd = temp.make();
  const env = testEnv(temp.make("create-agent-home-"));
  afterAll(async () => {
    try {
      await options.beforeCleanup?.();
    } finally {
      temp.cleanup();
    }
  });
  return {
    temp,
    cwd,
    env,
    async scaffold(name, extra = []) {
      const result = await createAgent([name, "--no-interactive", "--no-git", ...extra], { cwd, env });
      expect(result.code).toBe(0);
      return join(cwd, name);
    },
  };
}
