#!/usr/bin/env bun
// `bunker agent <configure|deploy|invoke|dev>`: the agent project's command line, declared in the plugin's
// `commands` (index.ts) and run by core/cli.ts; `bun plugins/agent-runtime/cli/agent.ts <command>` runs it directly.
import { CONFIGURE_USAGE, configure } from "./configure";
import { DEPLOY_USAGE, deploy } from "./deploy";
import { DEV_USAGE, dev } from "./dev";
import { CliError, EXIT } from "./errors";
import { INVOKE_USAGE, invoke } from "./invoke";
import { AGENT_USAGE } from "./usage";

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; usage: string }> = {
  configure: { run: configure, usage: CONFIGURE_USAGE },
  deploy: { run: deploy, usage: DEPLOY_USAGE },
  invoke: { run: invoke, usage: INVOKE_USAGE },
  dev: { run: dev, usage: DEV_USAGE },
};

/** Runs one agent command and returns its exit status; errors print to stderr (or as JSON with --json). */
export async function runAgentCommand(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const json = rest.includes("--json");
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return name ? EXIT.OK : EXIT.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`bunker agent: unknown command "${name}"\n${AGENT_USAGE}\n`);
    return EXIT.USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT.OK;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const error =
      err instanceof CliError
        ? err
        : (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
          ? new CliError(EXIT.USAGE, "USAGE", `${(err as Error).message.replace(/\. To specify a positional.*$/s, "")}\n${command.usage}`)
          : undefined;
    if (!error) throw err;
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message, details: error.details } })}\n`);
    else process.stderr.write(`bunker agent ${name}: ${error.message}\n`);
    return error.exit;
  }
}

/** Runs the command and exits with its status (for running this file directly). */
async function agentCommand(args: string[]): Promise<void> {
  const status = await runAgentCommand(args);
  process.exit(status);
}

if (import.meta.main) await agentCommand(process.argv.slice(2));
