// Turns flags (and, on a terminal, answers to questions) into everything a project is made from.
import { basename, resolve } from "node:path";
import type { CreateArgs } from "./args";
import { CreateAgentError } from "./errors";
import { fieldProblem, toDnsLabel, type AgentFields, type FieldName } from "./fields";
import type { Prompter } from "./prompts";
import { gitConfig } from "./steps";
import { findTemplate, listTemplates, type TemplateInfo } from "./templates";
import { targetState } from "./write";

export interface Plan {
  /** Absolute path of the project folder. */
  target: string;
  template: TemplateInfo;
  fields: AgentFields;
  force: boolean;
}

export const DEFAULT_TEMPLATE = "basic";
export const DEFAULT_DESCRIPTION = "An agent made with Bunker";
export const DEFAULT_VERSION = "0.1.0";

const FLAG: Record<FieldName, string> = {
  name: "--name",
  version: "--version",
  author: "--author",
  description: "--description",
  entrypoint: "--entrypoint",
};

function checked(field: FieldName, value: string, template?: TemplateInfo): string {
  const problem = fieldProblem(field, value, template);
  if (problem) throw new CreateAgentError("INVALID_FIELD", `${FLAG[field]}: ${problem}`, { field, value });
  return value;
}

/** Without a terminal: flags, then defaults; a field with neither is a usage error naming its flag. */
export function planFromFlags(args: CreateArgs, cwd: string, gitEmail = gitConfig("user.email")): Plan {
  const template = findTemplate(args.template ?? DEFAULT_TEMPLATE);
  const dir = args.dir ?? args.name ?? "my-agent";
  const author = args.author ?? gitEmail;
  if (author === undefined) {
    throw new CreateAgentError("INVALID_FIELD", "--author EMAIL is needed (git config user.email is not set)", { field: "author" });
  }
  const fields: AgentFields = {
    name: checked("name", args.name ?? toDnsLabel(basename(resolve(cwd, dir)))),
    version: DEFAULT_VERSION,
    author: checked("author", author),
    description: checked("description", args.description ?? DEFAULT_DESCRIPTION),
    entrypoint: checked("entrypoint", args.entrypoint ?? template.entrypoint, template),
  };
  return { target: resolve(cwd, dir), template, fields, force: args.force };
}

/** On a terminal: asks for what the flags left out, with the same rules and defaults. */
export async function planByAsking(args: CreateArgs, cwd: string, prompter: Prompter, gitEmail = gitConfig("user.email")): Promise<Plan> {
  // Flags that were given are checked first, so a typo fails before any question.
  if (args.template) findTemplate(args.template);
  for (const field of ["name", "author", "description"] as const) if (args[field] !== undefined) checked(field, args[field]!);

  const dir = args.dir ?? (await prompter.ask("Project directory", { default: args.name ?? "my-agent", validate: (a) => (a ? "" : "a directory is needed") }));
  const templates = listTemplates();
  const templateName =
    args.template ?? (await prompter.choose("Template", templates.map((t) => ({ name: t.name, description: t.description })), DEFAULT_TEMPLATE));
  const template = findTemplate(templateName);
  const ask = (field: FieldName, question: string, fallback: string | undefined) =>
    prompter.ask(question, { default: fallback, validate: (a) => fieldProblem(field, a, template) });

  const target = resolve(cwd, dir);
  const fields: AgentFields = {
    name: args.name ?? (await ask("name", "Agent name", toDnsLabel(basename(target)))),
    version: DEFAULT_VERSION,
    description: args.description ?? (await ask("description", "Description", DEFAULT_DESCRIPTION)),
    author: args.author ?? (await ask("author", "Author email", gitEmail)),
    entrypoint: args.entrypoint !== undefined ? checked("entrypoint", args.entrypoint, template) : await ask("entrypoint", "Entrypoint", template.entrypoint),
  };
  let force = args.force;
  if (!force && targetState(target) === "non-empty") {
    force = await prompter.confirm(`${target} is not empty. Write into it anyway, replacing files with the same names?`, false);
    if (!force) throw new CreateAgentError("NOT_EMPTY", `${target} is not empty; nothing was written`, { dir: target });
  }
  return { target, template, fields, force };
}
