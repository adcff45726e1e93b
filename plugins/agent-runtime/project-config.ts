// agent.yaml of a project being deployed, parsed so that errors about a file the caller did not send (a path deploy
// reads the server's disk) name the file, the line and the field, never a value or a line of its text.
import YAML from "yaml";
import { AgentConfigError, agentConfigIssues, parseAgentConfig, type AgentConfig, type AgentConfigIssue } from "bunker/agent-config";

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
