// agent.yaml: the seed's Kubernetes-style AgentConfig as a TypeBox schema, with a loader, a validator whose
// errors name the file, the field and the rule, and a writer that keeps the file's comments and key order.
import { type Static, Type, type TSchema } from "@sinclair/typebox";
import { Value, type ValueError } from "@sinclair/typebox/value";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import YAML, { isMap, isScalar, type Document, type YAMLMap } from "yaml";

/** Extra schema keyword read by the validator: the rule in words, used in error messages. */
const rule = (text: string) => ({ rule: text });

export const DeploymentPhase = Type.Union(
  [Type.Literal("pending"), Type.Literal("building"), Type.Literal("deployed"), Type.Literal("failed")],
  rule("one of pending, building, deployed, failed"),
);

export const AgentMetadataSchema = Type.Object(
  {
    name: Type.String({
      pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
      maxLength: 63,
      ...rule("a DNS label: lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit"),
    }),
    version: Type.String({ minLength: 1, maxLength: 64, ...rule("a non-empty version string such as 1.0.0") }),
    author: Type.String({ pattern: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", maxLength: 254, ...rule("an email address") }),
    description: Type.Optional(Type.String({ maxLength: 1000, ...rule("a string of at most 1000 characters") })),
    created: Type.Optional(
      Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$", ...rule("an ISO 8601 timestamp") }),
    ),
    /** Bunker extension: labels for filtering templates. */
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32, ...rule("a list of up to 32 short strings") })),
  },
  { additionalProperties: false },
);

export const RuntimeSpecSchema = Type.Object(
  {
    timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, ...rule("an integer number of seconds from 1 to 3600") })),
    memory_limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]*(Mi|Gi)$", ...rule('a size like "512Mi" or "1Gi"') })),
    cpu_limit: Type.Optional(
      Type.String({ pattern: "^([1-9][0-9]*(\\.[0-9]+)?|0\\.[0-9]*[1-9][0-9]*|[1-9][0-9]*m)$", ...rule('cores like "1" or "0.5", or millicores like "1000m"') }),
    ),
  },
  { additionalProperties: false },
);

export const SandboxSpecSchema = Type.Object(
  { template_id: Type.Optional(Type.String({ minLength: 1, ...rule("a template id") })) },
  { additionalProperties: false },
);

export const AgentSpecSchema = Type.Object(
  {
    entrypoint: Type.String({
      pattern: "^(?!/)(?!.*\\.\\./)[^\\0]+\\.(ts|js|mjs|py)$",
      ...rule("a relative path to a .ts/.js/.mjs file (run with Bun) or a .py file (run with Python)"),
    }),
    runtime: Type.Optional(RuntimeSpecSchema),
    sandbox: Type.Optional(SandboxSpecSchema),
  },
  { additionalProperties: false },
);

export const AgentStatusSchema = Type.Object(
  {
    phase: Type.Optional(DeploymentPhase),
    template_id: Type.Optional(Type.String()),
    last_deployed: Type.Optional(Type.String()),
    build_id: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const AgentConfigSchema = Type.Object(
  {
    apiVersion: Type.Literal("v1", rule('"v1"')),
    kind: Type.Literal("Agent", rule('"Agent"')),
    metadata: AgentMetadataSchema,
    spec: AgentSpecSchema,
    status: Type.Optional(AgentStatusSchema),
  },
  { additionalProperties: false },
);

export type AgentConfig = Static<typeof AgentConfigSchema>;
export type AgentStatus = Static<typeof AgentStatusSchema>;
export type DeploymentPhase = Static<typeof DeploymentPhase>;

export interface AgentConfigIssue {
  file: string;
  /** Dotted path, e.g. "spec.runtime.timeout" ("" for the whole document). */
  field: string;
  rule: string;
  message: string;
}

export class AgentConfigError extends Error {
  readonly file: string;
  readonly issues: AgentConfigIssue[];
  constructor(file: string, issues: AgentConfigIssue[]) {
    super(issues.map((i) => i.message).join("\n"));
    this.name = "AgentConfigError";
    this.file = file;
    this.issues = issues;
  }

  /** The file does not exist. */
  static notFound(file: string): AgentConfigError {
    return new AgentConfigError(file, [{ file, field: "", rule: "exists", message: `${file}: not found` }]);
  }
}

export interface AgentConfigMessageOptions {
  /** Messages may quote the file's values and YAML's own error text (default). Off for a file the caller did not
   * send (a server reading its own disk): messages then name the file, the line and the field only. */
  quote?: boolean;
}

function describeRule(error: ValueError): string {
  const schema = error.schema as TSchema & { rule?: string };
  if (schema.rule) return schema.rule;
  const field = error.path.split("/").pop();
  if (error.value === undefined && field) return "required";
  if (error.message.includes("Unexpected property") || error.message.includes("additional")) return "not an allowed field";
  return error.message.toLowerCase();
}

/** All problems with value as an AgentConfig (empty when valid). */
export function agentConfigIssues(value: unknown, file = "agent.yaml", options: AgentConfigMessageOptions = {}): AgentConfigIssue[] {
  const quote = options.quote !== false;
  const issues: AgentConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(AgentConfigSchema, value)) {
    const field = error.path.replace(/^\//, "").replaceAll("/", ".");
    if (seen.has(field)) continue; // one message per field: the first (most specific) rule
    seen.add(field);
    const ruleText = describeRule(error);
    const shown = !quote ? "" : error.value === undefined ? " (missing)" : ` (got ${JSON.stringify(error.value)})`;
    issues.push({ file, field, rule: ruleText, message: `${file}: ${field || "(document)"}: must be ${ruleText.replace(/^required$/, "present")}${shown}` });
  }
  return issues;
}

/** Returns the value typed as AgentConfig, or throws AgentConfigError listing every problem. */
export function validateAgentConfig(value: unknown, file = "agent.yaml", options: AgentConfigMessageOptions = {}): AgentConfig {
  const issues = agentConfigIssues(value, file, options);
  if (issues.length > 0) throw new AgentConfigError(file, issues);
  return value as AgentConfig;
}

/** Parses YAML text into a validated AgentConfig; syntax errors name the file and line. Only AgentConfigError is
 * thrown, also for YAML that parses but cannot be turned into a value (an alias bomb past YAML's alias limit). */
export function parseAgentConfig(text: string, file = "agent.yaml", options: AgentConfigMessageOptions = {}): AgentConfig {
  const quote = options.quote !== false;
  const yamlIssue = (line: number | undefined, what: string): AgentConfigIssue => ({
    file,
    field: "",
    rule: "valid YAML",
    message: `${file}${line ? `:${line}` : ""}: invalid YAML${what}`,
  });
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new AgentConfigError(
      file,
      doc.errors.map((e) => yamlIssue(e.linePos?.[0]?.line, quote ? `: ${e.message.split("\n")[0]}` : ` (${e.code})`)),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    throw new AgentConfigError(file, [yamlIssue(undefined, quote ? `: ${error instanceof Error ? error.message : String(error)}` : " (UNREADABLE)")]);
  }
  return validateAgentConfig(value, file, options);
}

/** Loads agent.yaml from a project directory, or the given file. */
export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, "agent.yaml") : path;
  if (!existsSync(file)) throw AgentConfigError.notFound(file);
  return parseAgentConfig(await Bun.file(file).text(), file);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Makes map match value, keeping existing nodes (and their comments) where the value is unchanged or a scalar edit. */
function syncMap(doc: Document, map: YAMLMap, value: Record<string, unknown>): void {
  for (const item of [...map.items]) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    if (!(key in value) || value[key] === undefined) map.delete(item.key);
  }
  for (const [key, next] of Object.entries(value)) {
    if (next === undefined) continue;
    const node = map.get(key, true);
    if (isPlainObject(next) && isMap(node)) syncMap(doc, node, next);
    else if (isScalar(node) && !isPlainObject(next) && !Array.isArray(next)) node.value = next;
    else map.set(key, doc.createNode(next));
  }
}

/** Renders config as YAML, editing existingText in place (comments and key order kept) when given. */
export function renderAgentConfig(config: AgentConfig, existingText?: string, file = "agent.yaml"): string {
  validateAgentConfig(config, file);
  if (existingText === undefined) return new YAML.Document(config).toString();
  const doc = YAML.parseDocument(existingText);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return new YAML.Document(config).toString();
  syncMap(doc, doc.contents, config as unknown as Record<string, unknown>);
  return doc.toString();
}

/** Validates and writes config to path (a file, or a directory holding agent.yaml), keeping comments and order. */
export async function writeAgentConfig(path: string, config: AgentConfig): Promise<string> {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, "agent.yaml") : path;
  const existing = existsSync(file) ? await Bun.file(file).text() : undefined;
  const text = renderAgentConfig(config, existing, file);
  await Bun.write(file, text);
  return file;
}

/** The argv that starts the agent inside its sandbox: Bun for .ts/.js/.mjs, Python for .py. */
export function entrypointCommand(config: AgentConfig, bun = "bun", python = "python3"): string[] {
  const entry = config.spec.entrypoint;
  return entry.endsWith(".py") ? [python, "-u", entry] : [bun, "run", entry];
}
