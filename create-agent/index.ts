#!/usr/bin/env bun
// create-agent: makes a Bunker agent project from a folder in templates/.
//   bun create @bunker/agent my-agent          (once published)
//   bun create-agent/index.ts my-agent         (from a Bunker checkout; or `bun link` here, then `create-agent`)
import { parseCreateArgs, usage, type CreateArgs } from "./args";
import { planByAsking, planFromFlags } from "./answers";
import { CreateAgentError } from "./errors";
import { terminalPrompter } from "./prompts";
import { scaffold, type ScaffoldResult } from "./scaffold";
import { listTemplates } from "./templates";

const print = (text: string) => process.stdout.write(`${text}\n`);

function report(result: ScaffoldResult): void {
  print(`\nCreated ${result.agent.name} in ${result.dir} from the ${result.template} template:`);
  for (const file of result.files) print(`  ${file}`);
  if (result.install.ran && !result.install.ok) print(`\n! ${result.install.note}; the files are in place, run bun install yourself.`);
  if (result.git.ran && !result.git.ok) print(`\n! git init failed: ${result.git.note}`);
  print("\nNext:");
  for (const command of result.next) print(`  ${command}`);
}

async function create(args: CreateArgs, cwd: string): Promise<ScaffoldResult> {
  const interactive = !args.yes && (args.interactive ?? (process.stdin.isTTY === true && !args.json));
  if (!interactive) return scaffold(planFromFlags(args, cwd), { install: args.install, git: args.git, bunker: args.bunker, quiet: args.json }, cwd);
  const prompter = terminalPrompter();
  let plan;
  try {
    plan = await planByAsking(args, cwd, prompter);
  } finally {
    prompter.close();
  }
  return scaffold(plan, { install: args.install, git: args.git, bunker: args.bunker, quiet: false }, cwd);
}

/** Runs the command; returns the exit status (0 created, 1 could not write or install, 2 bad request). */
export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  let json = argv.includes("--json");
  try {
    const args = parseCreateArgs(argv);
    json = args.json;
    if (args.help) {
      print(usage(listTemplates()));
      return 0;
    }
    if (args.list) {
      const templates = listTemplates().map(({ name, description, runtime, entrypoint }) => ({ name, description, runtime, entrypoint }));
      if (json) print(JSON.stringify({ templates }));
      else for (const t of templates) print(`${t.name.padEnd(12)} ${t.description}`);
      return 0;
    }
    const result = await create(args, cwd);
    if (json) print(JSON.stringify({ ok: result.install.ok, ...result }));
    else report(result);
    return result.install.ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof CreateAgentError)) throw err;
    if (json) print(JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details } }));
    else process.stderr.write(`create-agent: ${err.message}${err.code === "USAGE" ? "\n(create-agent --help lists the options)" : ""}\n`);
    return err.exitStatus;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
