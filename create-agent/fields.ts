// The answers a project is made from, checked with agent.yaml's own rules (agent-runtime's AgentConfigSchema),
// so a prompt, a flag and `bunker agent configure` all refuse the same values with the same words.
import { extname } from "node:path";
import { agentConfigIssues, type AgentConfig } from "./agent-config";
import type { TemplateInfo } from "./templates";

export interface AgentFields {
  name: string;
  version: string;
  author: string;
  description: string;
  entrypoint: string;
}

export type FieldName = keyof AgentFields;

/** Where each field lives in agent.yaml. */
const FIELD_PATH: Record<FieldName, string> = {
  name: "metadata.name",
  version: "metadata.version",
  author: "metadata.author",
  description: "metadata.description",
  entrypoint: "spec.entrypoint",
};

export const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export function agentConfigOf(fields: AgentFields, created = nowIso()): AgentConfig {
  return {
    apiVersion: "v1",
    kind: "Agent",
    metadata: { name: fields.name, version: fields.version, author: fields.author, description: fields.description, created },
    spec: { entrypoint: fields.entrypoint },
  };
}

const SAMPLE: AgentFields = { name: "agent", version: "0.1.0", author: "dev@example.com", description: "", entrypoint: "agent.ts" };

/** Why value is not acceptable for field ("" when it is), in agent.yaml's words. */
export function fieldProblem(field: FieldName, value: string, template?: TemplateInfo): string {
  const candidate = agentConfigOf({ ...SAMPLE, [field]: value });
  const issue = agentConfigIssues(candidate).find((i) => i.field === FIELD_PATH[field]);
  if (issue) return `${field} must be ${issue.rule} (got ${JSON.stringify(value)})`;
  if (field === "entrypoint") {
    // The scaffolder writes the path into YAML, JSON and code: keep it to plain path characters.
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(value) || value.split("/").some((s) => s === "." || s === "..")) {
      return `entrypoint must be a relative path of letters, digits, '.', '_', '-' and '/' (got ${JSON.stringify(value)})`;
    }
    if (template && extname(value) !== extname(template.entrypoint)) {
      return `entrypoint must be a ${extname(template.entrypoint)} file for the ${template.name} template (got ${JSON.stringify(value)})`;
    }
  }
  return "";
}

/** "My Cool_Agent!" → "my-cool-agent": a default name from a directory name. */
export function toDnsLabel(text: string): string {
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return label || "my-agent";
}
