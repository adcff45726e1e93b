// Turns a template folder into the files of a new project: {{placeholders}} filled, _gitignore renamed,
// the entrypoint moved to where the user asked and the references to it updated.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import type { TemplateInfo } from "./templates";

export interface TemplateValues {
  name: string;
  version: string;
  author: string;
  description: string;
  created: string;
  entrypoint: string;
  template: string;
  /** The `bunker` dependency spec for package.json. */
  bunkerDependency: string;
}

export interface RenderedFile {
  /** Path inside the project, with "/" separators. */
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** Files that would act inside this repo (git ignores, a package.json hiding the root one) are stored renamed. */
const RENAMES: Record<string, string> = { _gitignore: ".gitignore", _npmrc: ".npmrc", "_package.json": "package.json" };
const SKIP = new Set(["template.json", "node_modules", ".DS_Store"]);
/** In these files placeholders sit inside double-quoted strings, so values are escaped as JSON strings. */
const QUOTED = /\.(json|ya?ml)$/;

function walk(root: string, at = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, at), { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const rel = at ? `${at}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...walk(root, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Replaces {{key}} (spaces allowed inside the braces) for known keys; anything else is left as written. */
export function fillPlaceholders(text: string, values: TemplateValues, quoted: boolean): string {
  return text.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (whole, key: string) => {
    if (!Object.hasOwn(values, key)) return whole;
    const value = String(values[key as keyof TemplateValues]);
    return quoted ? JSON.stringify(value).slice(1, -1) : value;
  });
}

function renamed(path: string): string {
  const parts = path.split("/");
  const last = parts.pop()!;
  return [...parts, RENAMES[last] ?? last].join("/");
}

/** Imports of the template's entrypoint ("./agent.ts") now point at the chosen one. */
function repointEntrypoint(text: string, fileDir: string, from: string, to: string): string {
  if (from === to) return text;
  let target = posix.relative(fileDir || ".", to);
  if (!target.startsWith(".")) target = `./${target}`;
  return text.replaceAll(`"./${from}"`, `"${target}"`).replaceAll(`'./${from}'`, `'${target}'`);
}

export function renderTemplate(template: TemplateInfo, values: TemplateValues): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const source of walk(template.dir)) {
    const path = source === template.entrypoint ? values.entrypoint : renamed(source);
    const full = join(template.dir, source);
    const bytes = new Uint8Array(readFileSync(full));
    const mode = statSync(full).mode & 0o777;
    const text = asText(bytes);
    if (text === undefined) {
      files.push({ path, content: bytes, mode });
      continue;
    }
    const filled = fillPlaceholders(text, values, QUOTED.test(path));
    const fileDir = dirname(path) === "." ? "" : dirname(path);
    files.push({ path, content: repointEntrypoint(filled, fileDir, template.entrypoint, values.entrypoint), mode });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

