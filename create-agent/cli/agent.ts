#!/usr/bin/env bun
// `bunker agent <configure|deploy|invoke|dev>`: the agent project's command line (registered in core/cli.ts).
// Until then, or from anywhere: `bun create-agent/cli/agent.ts <command> ...`.
import { CONFIGURE_USAGE, configure } from "./configure";
import { DEPLOY_USAGE, deploy } from "./deploy";
import { DEV_USAGE, dev } from "./dev";
import { CliError, EXIT } from "./errors";
import { INVOKE_USAGE, invoke } from "./invoke";

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; usage: string }> = {
  configure: { run: configure, usage: CONFIGURE_USAGE },
  deploy: { run: deploy, usage: DEPLOY_USAGE },
  invoke: { run: invoke, usage: INVOKE_USAGE },
  dev: { run: dev, usage: DEV_USAGE },
};

export const AGENT_USAGE = `usage: bunker agent <command> [options]

commands:
  configure   set agent.yaml fields (flags, or questions on a terminal), validated, comments kept
  deploy      send the project to a Bunker server, follow the build, write status into agent.yaml
  invoke      call a deployed agent (--input TEXT [--stream] [--session ID] [--template-id ID])
  dev         run the agent locally, restarting on every change

server options (deploy, invoke):
  --url URL        the Bunker server (else BUNKER_URL, else url: in the config file, else http://127.0.0.1:8080)
  --api-key KEY    an API key (else BUNKER_API_KEY, else apiKey: in the config file; none on an open server)
  --prefix PATH    where the agent host is mounted (default /agent-runtime)
  config file: BUNKER_CLI_CONFIG, or ~/.config/bunker/cli.yaml (url, apiKey, prefix)

exit status: 0 ok, 1 failed (build, agent error, invalid agent.yaml), 2 usage, 3 not found, 4 server error or
unreachable, 5 timeout, 6 API key refused

\`bunker agent <command> --help\` shows a command's options.`;

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

/** The entry core/cli.ts registers: `COMMANDS.agent = agentCommand`. Exits with the command's status. */
export async function agentCommand(args: string[]): Promise<void> {
  const status = await runAgentCommand(args);
  process.exit(status);
}

if (import.meta.main) await agentCommand(process.argv.slice(2));
