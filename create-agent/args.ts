// Command-line flags of create-agent, parsed into CreateArgs; --help text built from the templates found.
import { parseArgs } from "node:util";
import { CreateAgentError } from "./errors";
import type { TemplateInfo } from "./templates";

export interface CreateArgs {
  dir?: string;
  template?: string;
  name?: string;
  author?: string;
  description?: string;
  entrypoint?: string;
  /** The `bunker` dependency spec written into package.json (default: a link to this checkout). */
  bunker?: string;
  yes: boolean;
  install: boolean;
  git: boolean;
  /** undefined: decide from whether stdin is a terminal. */
  interactive?: boolean;
  force: boolean;
  json: boolean;
  list: boolean;
  help: boolean;
}

const OPTIONS = {
  template: { type: "string", short: "t" },
  name: { type: "string" },
  author: { type: "string" },
  description: { type: "string" },
  entrypoint: { type: "string" },
  bunker: { type: "string" },
  yes: { type: "boolean", short: "y" },
  "no-install": { type: "boolean" },
  "no-git": { type: "boolean" },
  "no-interactive": { type: "boolean" },
  force: { type: "boolean", short: "f" },
  json: { type: "boolean" },
  list: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseCreateArgs(argv: string[]): CreateArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CreateAgentError("USAGE", (err as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) {
    throw new CreateAgentError("USAGE", `expected one directory, got ${positionals.length}: ${positionals.join(" ")}`);
  }
  return {
    dir: positionals[0],
    template: v.template,
    name: v.name,
    author: v.author,
    description: v.description,
    entrypoint: v.entrypoint,
    bunker: v.bunker,
    yes: v.yes ?? false,
    install: !v["no-install"],
    git: !v["no-git"],
    interactive: v["no-interactive"] ? false : undefined,
    force: v.force ?? false,
    json: v.json ?? false,
    list: v.list ?? false,
    help: v.help ?? false,
  };
}

export function usage(templates: TemplateInfo[]): string {
  const width = Math.max(8, ...templates.map((t) => t.name.length));
  const list = templates.map((t) => `  ${t.name.padEnd(width)}  ${t.description}`).join("\n");
  return `usage: create-agent [dir] [options]

Creates a Bunker agent project in dir (asks for what is missing when run on a terminal).

options:
  -t, --template NAME    the template to start from (default basic)
      --name NAME        agent name, a DNS label (default: the directory's name)
      --author EMAIL     author's email (default: git config user.email)
      --description TEXT one line about the agent
      --entrypoint FILE  the agent's main file (default: the template's)
  -y, --yes              take the default for everything not given; ask nothing
      --no-install       do not run bun install
      --no-git           do not run git init
      --no-interactive   never prompt (the default when stdin is not a terminal)
  -f, --force            write into a non-empty directory (files with the same names are replaced)
      --bunker SPEC      the "bunker" dependency in package.json (default: link to this checkout)
      --json             print the result (or the error) as JSON
      --list             list the templates and exit
  -h, --help             show this help

templates:
${list}

examples:
  bun create @bunker/agent my-agent
  bun create-agent/index.ts my-agent -t streaming --author me@example.com --no-interactive`;
}
