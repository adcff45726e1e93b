// What the agent host needs from the sandbox layer (the liteboxd plugin): templates with agent metadata,
// sandboxes with a readiness probe, a gateway to the agent's port, pause/resume, TTLs. drivers/liteboxd.ts adapts it.
import type { AgentConfig } from "bunker/agent-config";
import type { ProjectFile } from "../project-files";

export const AGENT_PORT = 8080;

export interface AgentTemplateSpec {
  /** The template's name; redeploying under the same name makes a new version. */
  name: string;
  description?: string;
  tags: string[];
  /** The agent project's files (already read and checked), the template's /workspace. */
  files: ProjectFile[];
  /** Started in /workspace: `bun run agent.ts` or `python3 -u agent.py`. */
  command: string[];
  env: Record<string, string>;
  resources: { memoryMb?: number; cpus?: number };
  /** HTTP GET /ping on port 8080 must answer 200 within this many seconds of start. */
  readiness: { path: "/ping"; port: number; timeoutSeconds: number };
  /** The whole agent.yaml (status included), kept as the template's agent metadata. */
  metadata: { agent: AgentConfig };
  /** The project's installed npm dependencies (node_modules as a .tar.gz), unpacked before the command starts. */
  dependencies?: Uint8Array;
}

export interface BackendTemplate {
  templateId: string;
  version: number;
  /** Bytes of the template's files. */
  size?: number;
}

export type BackendSandboxState = "starting" | "running" | "paused" | "exited" | "gone";

export interface AgentSandboxBackend {
  /** Whether sandboxes can run now, and why not. */
  status(): { available: boolean; reason?: string };
  createTemplate(owner: string, spec: AgentTemplateSpec): Promise<BackendTemplate>;
  deleteTemplate(owner: string, templateId: string): Promise<void>;
  /** A new sandbox from the template's latest version; resolves when its readiness probe passed. */
  createSandbox(owner: string, templateId: string, options: { ttlSeconds: number; env: Record<string, string> }): Promise<{ id: string }>;
  state(owner: string, id: string): Promise<BackendSandboxState>;
  /** Through the gateway to a port inside the sandbox, streaming both ways; aborting request.signal closes it. */
  fetch(owner: string, id: string, port: number, request: Request): Promise<Response>;
  pause(owner: string, id: string): Promise<void>;
  resume(owner: string, id: string): Promise<void>;
  extendTtl(owner: string, id: string, seconds: number): Promise<void>;
  delete(owner: string, id: string): Promise<void>;
}
