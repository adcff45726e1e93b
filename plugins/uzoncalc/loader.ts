// Loads sheet modules from the safe directories only (checked on the real path), reloading them when they change.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { extname, isAbsolute, join, relative, resolve, sep } from "node:path";
// quoted() from the core's errors module directly: the worker loads this file without the rest of the core.
import { quoted } from "../../core/errors";
import * as calc from "./calc";
import { errors, type BunkerError } from "./errors";

export const SHEET_EXTENSIONS = [".ts", ".js", ".mjs", ".tsx", ".jsx"];

export type SheetFunction = (params: Record<string, unknown>) => unknown;

export interface SheetListing {
  file_path: string;
  name: string;
  functions: Array<{ name: string; description?: string }>;
}

interface CachedModule {
  mtimeMs: number;
  module: Record<string, unknown>;
}

const REGISTERED = Symbol.for("bunker.calc.module-registered");

/**
 * Lets sheets anywhere on disk `import ... from "bunker/calc"`: a bare name only resolves inside this package, so the
 * process serves it as a virtual module (the executor's own copy, so brands and types match).
 */
export function registerCalcModule(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[REGISTERED]) return;
  g[REGISTERED] = true;
  Bun.plugin({ name: "bunker-calc", setup: (build) => void build.module("bunker/calc", () => ({ exports: { ...calc }, loader: "object" })) });
}

/** True when `child` is `parent` or lies below it (compares whole path segments: /safe never admits /safe2). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith(".." + sep) && rel !== ".." && !isAbsolute(rel));
}

export class SheetLoader {
  private readonly cache = new Map<string, CachedModule>();
  private generation = 0;
  readonly safeDirs: string[];

  constructor(safeDirs: string[]) {
    this.safeDirs = safeDirs.map((d) => resolve(d));
    registerCalcModule();
  }

  /** Real paths of the safe directories that exist. */
  private realSafeDirs(): string[] {
    return this.safeDirs.filter((d) => existsSync(d)).map((d) => realpathSync(d));
  }

  /** Resolves a requested path to the real path of a sheet inside a safe directory, or throws 403/404. */
  resolve(filePath: string): string {
    if (typeof filePath !== "string" || !filePath.trim() || filePath.includes("\0")) {
      throw errors.INVALID_FILE_PATH("file_path must be a non-empty path");
    }
    const candidates = isAbsolute(filePath) ? [resolve(filePath)] : this.safeDirs.map((d) => resolve(d, filePath));
    const lexical = candidates.filter((c) => this.safeDirs.some((d) => isInside(d, c)));
    if (!lexical.length) throw this.outside(filePath);
    const found = lexical.find((c) => existsSync(c));
    if (!found) throw errors.SHEET_NOT_FOUND(`no sheet at ${quoted(filePath)}`, { file_path: quoted(filePath) });
    const real = realpathSync(found);
    if (!this.realSafeDirs().some((d) => isInside(d, real))) throw this.outside(filePath);
    if (!statSync(real).isFile() || !SHEET_EXTENSIONS.includes(extname(real))) {
      throw errors.NOT_A_SHEET(`${quoted(filePath)} is not a sheet module (${SHEET_EXTENSIONS.join(", ")})`, { file_path: quoted(filePath) });
    }
    return real;
  }

  private outside(filePath: string): BunkerError {
    return errors.PATH_NOT_ALLOWED(`${quoted(filePath)} is outside the safe directories`, { file_path: quoted(filePath) });
  }

  /** Imports the module (again when its mtime changed or the cache was invalidated) and returns the named function. */
  async load(filePath: string, funcName: string): Promise<SheetFunction> {
    const real = this.resolve(filePath);
    const mtimeMs = statSync(real).mtimeMs;
    let entry = this.cache.get(real);
    if (!entry || entry.mtimeMs !== mtimeMs) {
      // A query string makes Bun evaluate a fresh copy; older copies stay in its module registry.
      const url = `${real}?v=${mtimeMs}-${++this.generation}`;
      let module: Record<string, unknown>;
      try {
        module = (await import(url)) as Record<string, unknown>;
      } catch (err) {
        throw errors.SHEET_LOAD_FAILED(`${quoted(filePath)} could not be loaded: ${(err as Error).message}`, { file_path: quoted(filePath) });
      }
      entry = { mtimeMs, module };
      this.cache.set(real, entry);
    }
    const fn = entry.module[funcName];
    if (typeof fn !== "function") {
      const available = Object.keys(entry.module).filter((k) => typeof entry!.module[k] === "function");
      throw errors.FUNCTION_NOT_FOUND(`${quoted(filePath)} exports no function "${funcName}"`, { func_name: funcName, available });
    }
    return fn as SheetFunction;
  }

  /** Forgets the cached module so the next start loads the file again. Returns whether it was cached. */
  invalidate(filePath: string): boolean {
    const real = this.resolve(filePath);
    return this.cache.delete(real);
  }

  /** Sheets in the safe directories, with their exported async generator functions (found without running them). */
  list(maxDepth = 3): SheetListing[] {
    const out: SheetListing[] = [];
    const seen = new Set<string>();
    const walk = (root: string, dir: string, depth: number) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.name.startsWith(".") || e.name === "node_modules") continue;
        const full = join(dir, e.name);
        if (e.isDirectory() && depth < maxDepth) walk(root, full, depth + 1);
        if (!e.isFile() || !SHEET_EXTENSIONS.includes(extname(e.name)) || /\.(test|d)\.[jt]sx?$/.test(e.name)) continue;
        if (seen.has(full)) continue;
        seen.add(full);
        const functions = exportedGenerators(readFileSync(full, "utf8"));
        if (functions.length) out.push({ file_path: full, name: relative(root, full), functions });
      }
    };
    for (const d of this.realSafeDirs()) walk(d, d, 0);
    return out;
  }
}

const EXPORTED_GENERATOR = /(?:\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*)?export\s+async\s+function\s*\*\s*([A-Za-z_$][\w$]*)/g;

export function exportedGenerators(source: string): Array<{ name: string; description?: string }> {
  const out: Array<{ name: string; description?: string }> = [];
  for (const m of source.matchAll(EXPORTED_GENERATOR)) {
    const description = m[1]
      ?.split("\n")
      .map((l) => l.replace(/^\s*\*?\s?/, "").trim())
      .filter(Boolean)
      .join(" ");
    out.push(description ? { name: m[2]!, description } : { name: m[2]! });
  }
  return out;
}
