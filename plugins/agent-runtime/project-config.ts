// agent.yaml of a project being deployed: read with project-files' checks, parsed so that errors about a file the
// caller did not send (a path deploy reads the server's disk) name the file, the line and the field, never a value or
// a line of its text; the deploy's status written back without following links.
import { join } from "node:path";
import YAML from "yaml";
import {
  AgentConfigError,
  agentConfigIssues,
  parseAgentConfig,
  renderAgentConfig,
  type AgentConfig,
  type AgentConfigIssue,
  type AgentStatus,
} from "bunker/agent-config";
import type { ProjectSource } from "./deploy-path";
import { errors } from "./errors";
import { readProjectFile, replaceProjectFile } from "./project-files";

/** Reads the project's agent.yaml (with project-files' checks); errors quote its values only when the caller sent it
 * (an upload). A 400 INVALID_AGENT_CONFIG otherwise. */
export function loadProjectConfig(source: ProjectSource, uploaded: boolean): AgentConfig {
  const file = uploaded ? source.configName : join(source.root, source.configName);
  try {
    const bytes = readProjectFile(source.root, source.configName);
    if (!bytes) throw new AgentConfigError(file, [{ file, field: "", rule: "exists", message: `${file}: not found` }]);
    return parseProjectConfig(new TextDecoder().decode(bytes), file, uploaded);
  } catch (error) {
    if (error instanceof AgentConfigError) throw errors.INVALID_AGENT_CONFIG(error.message, { issues: error.issues });
    throw error;
  }
}

/** Writes status into the project's agent.yaml, comments and order kept: atomically, only a regular file directly in
 * the project folder, never through a symlink (project-files' replaceProjectFile). False when it was not such a file. */
export function writeProjectStatus(source: ProjectSource, config: AgentConfig, status: AgentStatus): boolean {
  const current = readProjectFile(source.root, source.configName);
  const text = renderAgentConfig({ ...config, status }, current ? new TextDecoder().decode(current) : undefined, source.configName);
  return replaceProjectFile(source.root, source.configName, text);
}

/** Parses text as the AgentConfig in `file`; `quote` (the caller sent the file) allows messages to show its values. */
export function parseProjectConfig(text: string, file: string, quote: boolean): AgentConfig {
  if (quote) return parseAgentConfig(text, file);
  let value: unknown;
  try {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length > 0) {
      throw new AgentConfigError(file, doc.errors.map((e) => yamlIssue(file, e.linePos?.[0]?.line, e.code)));
    }
    value = doc.toJS();
  } catch (error) {
    if (error instanceof AgentConfigError) throw error;
    throw new AgentConfigError(file, [yamlIssue(file, undefined, "UNREADABLE")]);
  }
  const issues = agentConfigIssues(value, file).map(
    (issue): AgentConfigIssue => ({ ...issue, message: `${file}: ${issue.field || "(document)"}: must be ${issue.rule.replace(/^required$/, "present")}` }),
  );
  if (issues.length > 0) throw new AgentConfigError(file, issues);
  return value as AgentConfig;
}

function yamlIssue(file: string, line: number | undefined, code: string): AgentConfigIssue {
  return { file, field: "", rule: "valid YAML", message: `${file}${line ? `:${line}` : ""}: invalid YAML (${code})` };
}
