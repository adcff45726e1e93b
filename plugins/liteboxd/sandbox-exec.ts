// Commands in a running sandbox: run to completion (bounded output), or an interactive process with live streams.
import type { InteractiveOptions, InteractiveProcess } from "./contract";
import type { DriverExecResult } from "./drivers/types";
import { errors } from "./errors";
import type { ExecRequest, ExecResultWire } from "./schema";
import type { SandboxState } from "./sandbox-state";

const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;

function checkCwd(cwd: string | undefined) {
  if (cwd !== undefined && !cwd.startsWith("/")) throw errors.INVALID_REQUEST("cwd must be an absolute path");
}

export function createSandboxExec(state: SandboxState) {
  const { options: o } = state;

  async function exec(id: string, req: ExecRequest, owner: string): Promise<ExecResultWire> {
    const sandbox = state.running(id, await state.owned(id, owner));
    checkCwd(req.cwd);
    let r: DriverExecResult;
    try {
      r = await sandbox.runtime.exec({
        argv: req.command, env: req.env, cwd: req.cwd,
        timeoutMs: (req.timeout ?? DEFAULT_EXEC_TIMEOUT_SECONDS) * 1000, maxOutputBytes: o.maxExecOutputBytes,
      });
    } catch (error) {
      throw errors.SANDBOX_NOT_RUNNING(`sandbox ${id} is not running: ${(error as Error).message}`);
    }
    return { exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, timed_out: r.timedOut, truncated: r.truncated };
  }

  async function execInteractive(id: string, owner: string, opts: InteractiveOptions): Promise<InteractiveProcess> {
    const sandbox = state.running(id, await state.owned(id, owner));
    if (!opts.command.length) throw errors.INVALID_REQUEST("command must not be empty");
    checkCwd(opts.cwd);
    for (const n of [opts.cols, opts.rows]) {
      if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 1000)) throw errors.INVALID_REQUEST("cols and rows must be integers from 1 to 1000");
    }
    if (!sandbox.runtime.spawn) throw errors.NOT_SUPPORTED(`the ${o.driver.name} driver has no interactive exec`);
    try {
      return await sandbox.runtime.spawn({ argv: opts.command, tty: opts.tty, cols: opts.cols, rows: opts.rows, env: opts.env, cwd: opts.cwd });
    } catch (error) {
      throw errors.SANDBOX_NOT_RUNNING(`sandbox ${id} is not running: ${(error as Error).message}`);
    }
  }

  return { exec, execInteractive };
}
