// Boot, the part the server and the `bunker` command share: configuration (file, in-process overrides,
// environment), plugin discovery and resolution, and the database with the core's migrations.
import { mkdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { authMigrations } from "./auth";
import { applyEnv, ConfigError, loadCoreConfig, readConfigFile, type CoreConfig } from "./config";
import { migrate, openDatabase, type Database } from "./db";
import { discoverBuiltins, loadExternal, resolvePlugins, type ResolvedPlugin } from "./loader";
import type { PluginDefinition } from "./plugin";

export interface BootOptions {
  /** Path of bunker.yaml; `./bunker.yaml` is read when present. */
  configFile?: string;
  /** Raw config merged over the file (tests and embedding). */
  config?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Load the plugins in plugins/ (default true). */
  builtins?: boolean;
  /** Plugin definitions added in-process. */
  plugins?: PluginDefinition[];
}

export interface FoundPlugin {
  def: PluginDefinition;
  source: string;
}

export interface Configuration {
  config: CoreConfig;
  /** Enabled plugins in dependency order, each with its validated config and prefix. */
  plugins: ResolvedPlugin[];
  /** Absolute: relative dataDir values resolve against the config file's directory. */
  dataDir: string;
}

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && prev && typeof prev === "object" && !Array.isArray(prev)
      ? mergeDeep(prev as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

/** The raw (unvalidated) configuration: the file with in-process values merged over it. */
function readRaw(options: BootOptions) {
  const env = options.env ?? process.env;
  const file = readConfigFile(options.configFile ?? env.BUNKER_CONFIG);
  return { env, baseDir: file.baseDir, raw: mergeDeep(file.config, options.config ?? {}) };
}

async function collectPlugins(options: BootOptions, raw: Record<string, unknown>, baseDir: string): Promise<FoundPlugin[]> {
  const skipBuiltins = options.builtins === false || raw.builtins === false || raw.builtins === "false";
  const found = skipBuiltins ? [] : await discoverBuiltins();
  const extra = Array.isArray(raw.extraPlugins) ? (raw.extraPlugins as unknown[]) : [];
  for (const spec of extra) {
    if (typeof spec !== "string") throw new ConfigError(`invalid configuration:\n  config.extraPlugins: each entry must be a package name or path`);
    found.push(await loadExternal(spec, baseDir));
  }
  for (const def of options.plugins ?? []) found.push({ def, source: "(in-process)" });
  return found;
}

/** Every installed plugin (built-in, extraPlugins, in-process), enabled or not, without validating their config. */
export async function discoverPlugins(options: BootOptions = {}): Promise<FoundPlugin[]> {
  const { raw, baseDir } = readRaw(options);
  return collectPlugins(options, raw, baseDir);
}

/** Reads and validates everything boot needs; a bad value throws one ConfigError naming the field. */
export async function loadConfiguration(options: BootOptions = {}): Promise<Configuration> {
  const { env, raw, baseDir } = readRaw(options);
  const found = await collectPlugins(options, raw, baseDir);
  const config = loadCoreConfig(applyEnv(raw, env, new Map(found.map((f) => [f.def.name, f.def.config]))));
  const plugins = resolvePlugins(found, config);
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(baseDir, config.dataDir);
  return { config, plugins, dataDir };
}

/** Opens the server's database (SQLite in dataDir unless databaseUrl says PostgreSQL) with the core's migrations. */
export async function openCoreDatabase(configuration: Configuration): Promise<Database> {
  mkdirSync(configuration.dataDir, { recursive: true });
  const db = openDatabase({ url: configuration.config.databaseUrl, sqlitePath: join(configuration.dataDir, "bunker.db") });
  try {
    await migrate(db, "core", authMigrations);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
