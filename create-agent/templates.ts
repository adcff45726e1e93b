// Templates are folders under templates/ with a template.json; adding one is adding a folder.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CreateAgentError } from "./errors";

export type TemplateRuntime = "bun" | "python";

export interface TemplateInfo {
  name: string;
  description: string;
  runtime: TemplateRuntime;
  /** The entrypoint file inside the template folder (the default for --entrypoint). */
  entrypoint: string;
  /** The commands printed after scaffolding (run inside the new project). */
  next: string[];
  order: number;
  dir: string;
}

const DEFAULT_NEXT: Record<TemplateRuntime, string[]> = {
  bun: ["bun test", "bun run dev", "bun run deploy"],
  python: ["python3 -m unittest", "bunker agent dev", "bunker agent deploy"],
};

/** templates/ beside this file (a published package) or in the checkout around it. */
export function findTemplatesDir(): string {
  const candidates = [join(import.meta.dir, "templates"), join(import.meta.dir, "..", "templates")];
  const found = candidates.find((dir) => existsSync(dir) && statSync(dir).isDirectory());
  if (!found) throw new CreateAgentError("BAD_TEMPLATE", `no templates folder found (looked in ${candidates.join(", ")})`);
  return found;
}

/** Reads one template folder's template.json; throws BAD_TEMPLATE naming what is wrong. */
export function readTemplate(dir: string, name: string): TemplateInfo {
  const file = join(dir, "template.json");
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CreateAgentError("BAD_TEMPLATE", `template ${name}: cannot read ${file}: ${(err as Error).message}`);
  }
  const bad = (why: string) => new CreateAgentError("BAD_TEMPLATE", `template ${name}: ${file}: ${why}`);
  if (typeof raw.description !== "string") throw bad('"description" must be a string');
  if (raw.runtime !== "bun" && raw.runtime !== "python") throw bad('"runtime" must be "bun" or "python"');
  if (typeof raw.entrypoint !== "string" || !existsSync(join(dir, raw.entrypoint))) {
    throw bad('"entrypoint" must name a file in the template folder');
  }
  const next = raw.next ?? DEFAULT_NEXT[raw.runtime];
  if (!Array.isArray(next) || !next.every((c) => typeof c === "string")) throw bad('"next" must be a list of commands');
  return {
    name,
    description: raw.description,
    runtime: raw.runtime,
    entrypoint: raw.entrypoint,
    next,
    order: typeof raw.order === "number" ? raw.order : 100,
    dir,
  };
}

/** Every folder with a template.json, by `order` then name. Broken ones are left out of the list. */
export function listTemplates(root = findTemplatesDir()): TemplateInfo[] {
  const out: TemplateInfo[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !existsSync(join(root, entry.name, "template.json"))) continue;
    try {
      out.push(readTemplate(join(root, entry.name), entry.name));
    } catch {
      // shown as BAD_TEMPLATE when someone asks for it by name
    }
  }
  return out.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

export function findTemplate(name: string, root = findTemplatesDir()): TemplateInfo {
  const dir = join(root, name);
  if (/^[a-z0-9][a-z0-9._-]*$/i.test(name) && existsSync(join(dir, "template.json"))) return readTemplate(dir, name);
  const known = listTemplates(root).map((t) => t.name);
  throw new CreateAgentError("UNKNOWN_TEMPLATE", `unknown template "${name}"; known templates: ${known.join(", ")}`, { known });
}
