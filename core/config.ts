// Configuration: bunker.yaml merged with BUNKER_* environment variables, validated with TypeBox.
import { Type, type Static, type TObject, type TSchema } from "@sinclair/typebox";
import { Value, type ValueError } from "@sinclair/typebox/value";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { redact } from "./logger";

export const CoreConfigSchema = Type.Object({
  server: Type.Object(
    {
      host: Type.String({ default: "127.0.0.1" }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
      /** Public URL when behind a proxy; derived from host and port otherwise. */
      baseUrl: Type.Optional(Type.String()),
      shutdownTimeoutMs: Type.Integer({ minimum: 0, default: 10_000 }),
      maxRequestBodySize: Type.Integer({ minimum: 1024, default: 128 * 1024 * 1024 }),
    },
    { default: {} },
  ),
  dataDir: Type.String({ default: "./data" }),
  /** postgres://… for PostgreSQL; SQLite in dataDir otherwise. Also read from DATABASE_URL. */
  databaseUrl: Type.Optional(Type.String()),
  log: Type.Object({ level: Type.Union([Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error"), Type.Literal("silent")], { default: "info" }) }, { default: {} }),
  debug: Type.Boolean({ default: false }),
  auth: Type.Object(
    {
      /** Require API keys even on loopback with no keys created (then nothing gets in until one is). */
      required: Type.Boolean({ default: false }),
    },
    { default: {} },
  ),
  /** Load the plugins in plugins/ (set false to run only extraPlugins). */
  builtins: Type.Boolean({ default: true }),
  /** External plugins by package name or path (relative to the config file). */
  extraPlugins: Type.Array(Type.String(), { default: [] }),
  /** Per plugin: `enabled`, `prefix`, and the plugin's own config fields. */
  plugins: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), { default: {} }),
});
export type CoreConfig = Static<typeof CoreConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface RawConfig {
  config: Record<string, unknown>;
  /** Directory relative paths in the file resolve against. */
  baseDir: string;
  file?: string;
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Env values are strings; turn them into what the schema expects (Elysia's t.Integer is a union with a string form). */
export function coerceToSchema(schema: TSchema | undefined, value: unknown): unknown {
  if (!schema) return value;
  const s = schema as TSchema & { type?: string; anyOf?: TSchema[]; properties?: Record<string, TSchema>; items?: TSchema };
  if (s.anyOf) {
    const typed = s.anyOf.filter((v) => (v as { type?: string }).type !== "string");
    for (const variant of typed) {
      const c = coerceToSchema(variant, value);
      if (c !== value) return c;
    }
    return value;
  }
  if (typeof value === "string") {
    const t = value.trim();
    if ((s.type === "integer" || s.type === "number") && t !== "" && !Number.isNaN(Number(t))) return Number(t);
    if (s.type === "boolean" && /^(true|false|1|0|yes|no)$/i.test(t)) return /^(true|1|yes)$/i.test(t);
    if ((s.type === "array" || s.type === "object") && /^[[{]/.test(t)) {
      try {
        return coerceToSchema(schema, JSON.parse(t));
      } catch {
        return value;
      }
    }
    if (s.type === "array") return t === "" ? [] : t.split(",").map((x) => coerceToSchema(s.items, x.trim()));
    return value;
  }
  if (s.type === "object" && s.properties && value && typeof value === "object" && !Array.isArray(value)) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [k, sub] of Object.entries(s.properties)) if (k in out) out[k] = coerceToSchema(sub, out[k]);
    return out;
  }
  if (s.type === "array" && Array.isArray(value)) return value.map((x) => coerceToSchema(s.items, x));
  return value;
}

/** Environment shortcuts for the settings people change most. */
const ENV_SHORTCUTS: Record<string, string[]> = {
  BUNKER_HOST: ["server", "host"],
  BUNKER_PORT: ["server", "port"],
  BUNKER_BASE_URL: ["server", "baseUrl"],
  BUNKER_DATA_DIR: ["dataDir"],
  BUNKER_LOG_LEVEL: ["log", "level"],
  BUNKER_DEBUG: ["debug"],
  DATABASE_URL: ["databaseUrl"],
};

/** BUNKER_A__B__C=value → ["a","b","c"]; segments are matched to schema keys later, case- and separator-insensitively. */
export function envOverrides(env: Record<string, string | undefined>): Array<{ path: string[]; value: unknown }> {
  const out: Array<{ path: string[]; value: unknown }> = [];
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    if (ENV_SHORTCUTS[name]) out.push({ path: ENV_SHORTCUTS[name]!, value: raw });
    else if (name.startsWith("BUNKER_") && name.includes("__")) {
      out.push({ path: name.slice("BUNKER_".length).split("__").filter(Boolean), value: raw });
    }
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown, knownKeys: (at: string[]) => string[]) {
  let node = target;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const known = knownKeys(path.slice(0, i)).concat(Object.keys(node));
    const key = known.find((k) => norm(k) === norm(seg)) ?? camel(seg);
    if (i === path.length - 1) node[key] = value;
    else {
      if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
  }
}

function keysOfSchema(schema: TSchema | undefined, at: string[]): string[] {
  let node: TSchema | undefined = schema;
  for (const seg of at) {
    const props = (node as TObject | undefined)?.properties;
    if (!props) return [];
    node = Object.entries(props).find(([k]) => norm(k) === norm(seg))?.[1];
  }
  return Object.keys((node as TObject | undefined)?.properties ?? {});
}

export function readConfigFile(file: string | undefined, cwd = process.cwd()): RawConfig {
  const candidate = file ? resolve(cwd, file) : resolve(cwd, "bunker.yaml");
  if (!existsSync(candidate)) {
    if (file) throw new ConfigError(`config file ${candidate} does not exist`);
    return { config: {}, baseDir: cwd };
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(candidate, "utf8"));
  } catch (err) {
    throw new ConfigError(`config file ${candidate}: ${(err as Error).message}`);
  }
  if (parsed !== null && parsed !== undefined && (typeof parsed !== "object" || Array.isArray(parsed))) {
    throw new ConfigError(`config file ${candidate}: the top level must be a mapping`);
  }
  return { config: (parsed ?? {}) as Record<string, unknown>, baseDir: dirname(candidate), file: candidate };
}

/** Applies env overrides; plugin names are resolved against `pluginNames` and their schemas. */
export function applyEnv(
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
  pluginSchemas: Map<string, TObject>,
): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const { path, value } of envOverrides(env)) {
    const isPlugin = norm(path[0] ?? "") === "plugins" && path.length >= 3;
    if (isPlugin) {
      const plugin = [...pluginSchemas.keys()].find((n) => norm(n) === norm(path[1]!)) ?? path[1]!.toLowerCase().replace(/_/g, "-");
      const plugins = ((out.plugins ??= {}) as Record<string, Record<string, unknown>>);
      const section = (plugins[plugin] ??= {});
      setPath(section, path.slice(2), value, (at) => ["enabled", "prefix", ...keysOfSchema(pluginSchemas.get(plugin), at)]);
    } else {
      setPath(out, path, value, (at) => keysOfSchema(CoreConfigSchema, at));
    }
  }
  return out;
}

/** For a union (Elysia's t.Integer is one), report the variant that matches the value's type. */
function explain(e: ValueError): string {
  if (!e.errors?.length) return e.message;
  const subs = e.errors.flatMap((it) => [...it]);
  const relevant = subs.find((x) => !/Expected string/.test(x.message)) ?? subs[0];
  return relevant ? relevant.message : e.message;
}

function formatPath(instancePath: string): string {
  return instancePath.replace(/^\//, "").replace(/\//g, ".") || "(root)";
}

/** Fills defaults, coerces env strings, validates; throws one ConfigError naming `where` and each failing field. */
export function validateSection<T extends TObject>(schema: T, value: unknown, where: string): Static<T> {
  const converted = Value.Default(schema, coerceToSchema(schema, structuredClone(value ?? {})));
  const errors = [...Value.Errors(schema, converted)];
  if (errors.length) {
    const lines = errors.slice(0, 8).map((e) => {
      const field = formatPath(e.path);
      return `${where}${field === "(root)" ? "" : "." + field}: ${explain(e)}${e.value !== undefined && typeof e.value !== "object" ? ` (got ${JSON.stringify(e.value)})` : ""}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const unknownKeys = Object.keys(converted as object).filter((k) => !(k in schema.properties));
  if (unknownKeys.length && schema.additionalProperties === false) {
    throw new ConfigError(`invalid configuration:\n  ${where}: unknown field(s) ${unknownKeys.join(", ")}`);
  }
  return converted as Static<T>;
}

export function loadCoreConfig(raw: Record<string, unknown>): CoreConfig {
  const { plugins: _p, ...rest } = raw;
  const core = validateSection(CoreConfigSchema, { ...rest, plugins: {} }, "config");
  const plugins = raw.plugins ?? {};
  if (typeof plugins !== "object" || Array.isArray(plugins)) throw new ConfigError("invalid configuration:\n  config.plugins: must be a mapping of plugin name to settings");
  for (const [name, section] of Object.entries(plugins as Record<string, unknown>)) {
    if (section !== null && (typeof section !== "object" || Array.isArray(section))) {
      throw new ConfigError(`invalid configuration:\n  plugins.${name}: must be a mapping (enabled, prefix and the plugin's fields)`);
    }
  }
  core.plugins = plugins as CoreConfig["plugins"];
  return core;
}

export function describeConfig(config: CoreConfig): unknown {
  const c = structuredClone(config) as CoreConfig;
  if (c.databaseUrl) c.databaseUrl = c.databaseUrl.replace(/\/\/([^:@/]+):([^@/]+)@/, "//$1:[redacted]@");
  return redact(c);
}
