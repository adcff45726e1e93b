// Finds plugins (built-in folders, external packages or paths), orders them by dependsOn, validates their config.
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError, validateSection, type CoreConfig } from "./config";
import { isPluginDefinition, type PluginDefinition } from "./plugin";

export const BUILTIN_PLUGINS_DIR = resolve(import.meta.dir, "..", "plugins");

export interface ResolvedPlugin {
  def: PluginDefinition;
  source: string;
  enabled: boolean;
  prefix: string;
  config: Record<string, unknown>;
}

function pickDefinition(mod: Record<string, unknown>, source: string): PluginDefinition {
  const candidates = [mod.default, mod.plugin, ...Object.values(mod)].filter(isPluginDefinition);
  if (!candidates.length) throw new ConfigError(`${source} does not export a plugin made with definePlugin()`);
  return candidates[0]!;
}

export async function discoverBuiltins(dir = BUILTIN_PLUGINS_DIR): Promise<Array<{ def: PluginDefinition; source: string }>> {
  if (!existsSync(dir)) return [];
  const out: Array<{ def: PluginDefinition; source: string }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const index = join(dir, entry.name, "index.ts");
    if (!entry.isDirectory() || !existsSync(index)) continue;
    out.push({ def: pickDefinition(await import(index), index), source: index });
  }
  return out;
}

export async function loadExternal(spec: string, baseDir: string): Promise<{ def: PluginDefinition; source: string }> {
  const isPath = spec.startsWith(".") || isAbsolute(spec);
  const target = isPath ? resolve(baseDir, spec) : spec;
  let mod: Record<string, unknown>;
  try {
    mod = await import(target);
  } catch (err) {
    throw new ConfigError(`extra plugin "${spec}" could not be loaded: ${(err as Error).message}`);
  }
  return { def: pickDefinition(mod, spec), source: target };
}

/** Kahn's algorithm, stable by discovery order; errors name the plugins involved. */
export function orderByDependencies(plugins: ResolvedPlugin[]): ResolvedPlugin[] {
  const byName = new Map<string, ResolvedPlugin>();
  for (const p of plugins) {
    const existing = byName.get(p.def.name);
    if (existing) throw new ConfigError(`duplicate plugin name "${p.def.name}" (from ${existing.source} and ${p.source})`);
    byName.set(p.def.name, p);
  }
  const enabled = plugins.filter((p) => p.enabled);
  for (const p of enabled) {
    for (const dep of p.def.dependsOn ?? []) {
      const target = byName.get(dep);
      if (!target) throw new ConfigError(`plugin "${p.def.name}" depends on "${dep}", which is not installed`);
      if (!target.enabled) throw new ConfigError(`plugin "${p.def.name}" depends on "${dep}", which is disabled in config`);
    }
  }
  const ordered: ResolvedPlugin[] = [];
  const placed = new Set<string>();
  let pending = enabled;
  while (pending.length) {
    const ready = pending.filter((p) => (p.def.dependsOn ?? []).every((d) => placed.has(d)));
    if (!ready.length) {
      throw new ConfigError(`plugin dependency cycle: ${describeCycle(pending)}`);
    }
    for (const p of ready) {
      ordered.push(p);
      placed.add(p.def.name);
    }
    pending = pending.filter((p) => !placed.has(p.def.name));
  }
  return ordered;
}

function describeCycle(pending: ResolvedPlugin[]): string {
  const deps = new Map(pending.map((p) => [p.def.name, p.def.dependsOn ?? []]));
  const start = pending[0]!.def.name;
  const path = [start];
  let cur = start;
  for (;;) {
    const next = deps.get(cur)!.find((d) => deps.has(d))!;
    const seen = path.indexOf(next);
    if (seen >= 0) return [...path.slice(seen), next].join(" → ");
    path.push(next);
    cur = next;
  }
}

export function resolvePlugins(
  found: Array<{ def: PluginDefinition; source: string }>,
  config: CoreConfig,
): ResolvedPlugin[] {
  const known = new Set(found.map((f) => f.def.name));
  for (const name of Object.keys(config.plugins)) {
    if (!known.has(name)) throw new ConfigError(`plugins.${name}: no plugin named "${name}" is installed (known: ${[...known].join(", ") || "none"})`);
  }
  const resolved = found.map(({ def, source }) => {
    const section = { ...(config.plugins[def.name] ?? {}) } as Record<string, unknown>;
    const enabled = section.enabled === undefined ? true : section.enabled === true || section.enabled === "true";
    const prefix = normalizePrefix(section.prefix ?? def.prefix ?? `/${def.name}`, def.name);
    delete section.enabled;
    delete section.prefix;
    const pluginConfig = enabled ? validateSection(def.config, section, `plugins.${def.name}`) : section;
    return { def, source, enabled, prefix, config: pluginConfig as Record<string, unknown> };
  });
  return orderByDependencies(resolved);
}

function normalizePrefix(prefix: unknown, plugin: string): string {
  if (typeof prefix !== "string" || (prefix !== "" && !/^\/[A-Za-z0-9/_.-]*$/.test(prefix))) {
    throw new ConfigError(`invalid configuration:\n  plugins.${plugin}.prefix: must be a path starting with "/" (got ${JSON.stringify(prefix)})`);
  }
  return prefix.replace(/\/+$/, "");
}
