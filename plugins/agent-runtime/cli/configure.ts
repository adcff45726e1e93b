// `bunker agent configure`: set agent.yaml fields from flags or answers, check them with agent.yaml's rules,
// and write the file back with its comments and key order kept.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { agentConfigIssues } from "bunker/agent-config";
import { terminalAsker, type Asker } from "./ask";
import { EXIT, usageError } from "./errors";
import { findProject, readRaw, saveProject, validated } from "./project";

interface Field {
  flag: string;
  path: string[];
  question: string;
  /** How the flag's text becomes the YAML value. */
  parse?: (text: string) => unknown;
}

const integer = (text: string) => (/^-?\d+$/.test(text) ? Number(text) : text);
const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);

const FIELDS: Field[] = [
  { flag: "name", path: ["metadata", "name"], question: "Agent name" },
  { flag: "version", path: ["metadata", "version"], question: "Version" },
  { flag: "author", path: ["metadata", "author"], question: "Author email" },
  { flag: "description", path: ["metadata", "description"], question: "Description" },
  { flag: "tags", path: ["metadata", "tags"], question: "Tags (comma-separated)", parse: list },
  { flag: "entrypoint", path: ["spec", "entrypoint"], question: "Entrypoint" },
  { flag: "timeout", path: ["spec", "runtime", "timeout"], question: "Start timeout (seconds)", parse: integer },
  { flag: "memory-limit", path: ["spec", "runtime", "memory_limit"], question: "Memory limit" },
  { flag: "cpu-limit", path: ["spec", "runtime", "cpu_limit"], question: "CPU limit" },
  { flag: "template-id", path: ["spec", "sandbox", "template_id"], question: "Sandbox template id" },
];

export const CONFIGURE_USAGE = `usage: bunker agent configure [--dir DIR] [field flags] [--no-interactive] [--json]

Sets agent.yaml fields (asks for each one on a terminal when no field flag is given). An empty value removes an
optional field. field flags:
${FIELDS.map((f) => `  --${f.flag.padEnd(13)} ${f.path.join(".")}`).join("\n")}`;

function getPath(value: Record<string, unknown>, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), value);
}

function setPath(value: Record<string, unknown>, path: string[], next: unknown): void {
  let node = value;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  if (next === "" || (Array.isArray(next) && next.length === 0)) delete node[last];
  else node[last] = next;
  // drop sections an edit left empty (runtime: {}), so the file stays tidy
  for (let depth = path.length - 1; depth > 0; depth--) {
    const parent = getPath(value, path.slice(0, depth - 1)) as Record<string, unknown>;
    const child = parent?.[path[depth - 1]!];
    if (child && typeof child === "object" && Object.keys(child).length === 0) delete parent[path[depth - 1]!];
  }
}

const show = (v: unknown) => (v === undefined ? "(unset)" : Array.isArray(v) ? v.join(",") : String(v));

/** Why value is refused for field, given the rest of the config ("" when accepted). */
function problemWith(raw: Record<string, unknown>, field: Field, value: unknown): string {
  const candidate = structuredClone(raw);
  setPath(candidate, field.path, value);
  const issue = agentConfigIssues(candidate).find((i) => i.field === field.path.join(".") || i.field.startsWith(`${field.path.join(".")}.`));
  return issue ? `${field.path.join(".")} must be ${issue.rule}` : "";
}

async function askAll(prompter: Asker, raw: Record<string, unknown>): Promise<Map<Field, unknown>> {
  const answers = new Map<Field, unknown>();
  for (const field of FIELDS) {
    const current = getPath(raw, field.path);
    const text = await prompter.ask(field.question, {
      default: current === undefined ? undefined : show(current),
      validate: (a) => (a === "" ? "" : problemWith(raw, field, (field.parse ?? String)(a))),
    });
    if (text !== "") answers.set(field, (field.parse ?? String)(text));
  }
  return answers;
}

export async function configure(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: "string" },
      json: { type: "boolean" },
      "no-interactive": { type: "boolean" },
      ...Object.fromEntries(FIELDS.map((f) => [f.flag, { type: "string" as const }])),
    },
    strict: true,
  });
  const v = values as Record<string, string | boolean | undefined>;
  const project = findProject(v.dir as string | undefined);
  const raw = readRaw(project);
  const before = structuredClone(raw);

  const given = FIELDS.filter((f) => typeof v[f.flag] === "string");
  let edits: Map<Field, unknown>;
  if (given.length > 0) edits = new Map(given.map((f) => [f, (f.parse ?? String)(v[f.flag] as string)]));
  else if (!v["no-interactive"] && !v.json && process.stdin.isTTY) {
    const prompter = terminalAsker();
    try {
      edits = await askAll(prompter, raw);
    } finally {
      prompter.close();
    }
  } else throw usageError(`nothing to change: give at least one field flag\n${CONFIGURE_USAGE}`);

  for (const [field, value] of edits) setPath(raw, field.path, value);
  // A value from the command line that breaks a rule is a usage error; a file that was already broken is not.
  const touched = [...edits.keys()].map((f) => f.path.join("."));
  const issues = agentConfigIssues(raw, project.file);
  const exit = issues.some((i) => touched.some((t) => i.field === t || i.field.startsWith(`${t}.`))) ? EXIT.USAGE : EXIT.FAILED;
  const config = validated(raw, project.file, exit);

  const changes = FIELDS.map((f) => ({ field: f.path.join("."), from: getPath(before, f.path), to: getPath(raw, f.path) })).filter(
    (c) => JSON.stringify(c.from) !== JSON.stringify(c.to),
  );
  if (changes.length > 0) await saveProject(project, config);
  const missingEntry = !existsSync(join(project.dir, config.spec.entrypoint));
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ file: project.file, changes, config, ...(missingEntry ? { warning: `${config.spec.entrypoint} does not exist yet` } : {}) })}\n`);
  } else {
    if (changes.length === 0) process.stdout.write(`${project.file}: no changes\n`);
    else {
      process.stdout.write(`${project.file} updated:\n`);
      for (const c of changes) process.stdout.write(`  ${c.field}: ${show(c.from)} -> ${show(c.to)}\n`);
    }
    if (missingEntry) process.stdout.write(`note: ${config.spec.entrypoint} does not exist yet\n`);
  }
  return EXIT.OK;
}

