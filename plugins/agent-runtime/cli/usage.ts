// The help text of `bunker agent`, apart from the commands so that `bunker help` does not load them.

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
