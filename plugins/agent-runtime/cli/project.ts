// The agent project on disk: its agent.yaml, read raw (so configure can repair it) or validated.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { AgentConfigError, validateAgentConfig, writeAgentConfig, type AgentConfig } from "bunker/agent-config";
import { CliError, EXIT } from "./errors";

export interface Project {
  dir: string;
  file: string;
}

export function findProject(dir: string | undefined, cwd = process.cwd()): Project {
  const root = resolve(cwd, dir ?? ".");
  const file = join(root, "agent.yaml");
  if (!existsSync(file)) {
    throw new CliError(EXIT.FAILED, "NO_AGENT_YAML", `${file} not found: run this in an agent project (create one with create-agent) or pass --dir`);
  }
  return { dir: root, file };
}

/** The YAML as plain data, whatever its validity (syntax errors still stop here). */
export function readRaw(project: Project): Record<string, unknown> {
  const doc = parseDocument(readFileSync(project.file, "utf8"));
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new CliError(EXIT.FAILED, "INVALID_AGENT_CONFIG", `${project.file}${e.linePos?.[0] ? `:${e.linePos[0].line}` : ""}: invalid YAML: ${e.message.split("\n")[0]}`);
  }
  const value = doc.toJS();
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

/** Validated agent.yaml; its problems become one CliError listing them all. */
export function validated(value: unknown, file: string, exit: (typeof EXIT)[keyof typeof EXIT] = EXIT.FAILED): AgentConfig {
  try {
    return validateAgentConfig(value, file);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      throw new CliError(exit, "INVALID_AGENT_CONFIG", err.message, { issues: err.issues });
    }
    throw err;
  }
}

export const loadProject = (project: Project): AgentConfig => validated(readRaw(project), project.file);

/** Writes config back, keeping the file's comments and key order. */
export async function saveProject(project: Project, config: AgentConfig): Promise<void> {
  await writeAgentConfig(project.file, config);
}
