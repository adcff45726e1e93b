// agent.yaml of a project being deployed: taken from the project's files as read (project-files' checks), capped
// before it is parsed, parsed so that errors about a file the caller did not send (a path deploy reads the server's
// disk) name the file, the line and the field, never a value or a line of its text; the deploy's status written back
// without following links.
import { join } from "node:path";
import { AgentConfigError, parseAgentConfig, renderAgentConfig, type AgentConfig, type AgentStatus } from "bunker/agent-config";
import type { ProjectSource } from "./deploy-path";
import { errors } from "./errors";
import { readProjectFile, replaceProjectFile, type ProjectFile } from "./project-files";

/** The largest agent.yaml: YAML is parsed whole, so a bigger one is refused unparsed. */
const MAX_AGENT_CONFIG_BYTES = 256 * 1024;

/** The project's agent.yaml as read, and what it says. */
export interface ProjectConfig {
  config: AgentConfig;
  /** The file's text, for the status write-back (comments and order kept). */
  text: string;
}

/** agent.yaml as messages name it: its path on the server for a path deploy, its name in the archive for an upload. */
export const configFileName = (source: ProjectSource, uploaded: boolean) => (uploaded ? source.configName : join(source.root, source.configName));

/** The AgentConfig in the project's agent.yaml, found among files (readProject's) or, when the file is not one of
 * them, read within MAX_AGENT_CONFIG_BYTES. Errors quote its values only when the caller sent it (an upload): a 400
 * INVALID_AGENT_CONFIG, or a 413 AGENT_CONFIG_TOO_LARGE. */
export function loadProjectConfig(source: ProjectSource, files: ProjectFile[], uploaded: boolean): ProjectConfig {
  const file = configFileName(source, uploaded);
  const tooLarge = (bytes: number) => {
    if (bytes > MAX_AGENT_CONFIG_BYTES) {
      throw errors.AGENT_CONFIG_TOO_LARGE(`${file}: ${bytes} bytes; agent.yaml may have at most ${MAX_AGENT_CONFIG_BYTES}`, { limit: MAX_AGENT_CONFIG_BYTES });
    }
  };
  const bytes = files.find((f) => f.path === source.configName)?.bytes ?? readProjectFile(source.root, source.configName, { take: tooLarge });
  try {
    if (!bytes) throw AgentConfigError.notFound(file);
    tooLarge(bytes.byteLength);
    const text = new TextDecoder().decode(bytes);
    return { config: parseAgentConfig(text, file, { quote: uploaded }), text };
  } catch (error) {
    if (error instanceof AgentConfigError) throw errors.INVALID_AGENT_CONFIG(error.message, { issues: error.issues });
    throw error;
  }
}

/** Writes status into the project's agent.yaml (whose text was `current`), comments and order kept: atomically, only
 * a regular file directly in the project folder, never through a symlink (project-files' replaceProjectFile). False
 * when it was not such a file. */
export function writeProjectStatus(source: ProjectSource, loaded: ProjectConfig, status: AgentStatus): boolean {
  const text = renderAgentConfig({ ...loaded.config, status }, loaded.text, source.configName);
  return replaceProjectFile(source.root, source.configName, text);
}
