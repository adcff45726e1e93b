// The LiteBoxd wire models as the client sees them (field casing exactly as on the wire; the seed's SDK models).

/** "paused" is Bunker's (POST /sandboxes/:id/pause); a LiteBoxd server never reports it. */
export type SandboxStatus = "pending" | "running" | "paused" | "succeeded" | "failed" | "stopped" | "terminating" | "unknown";

export interface Sandbox {
  id: string;
  image: string;
  cpu: string;
  memory: string;
  ttl: number;
  env?: Record<string, string>;
  status: SandboxStatus;
  template?: string;
  templateVersion?: number;
  accessToken?: string;
  accessUrl?: string;
  runtimeKind?: string;
  created_at: string;
  expires_at: string;
  updated_at?: string;
  desired_state?: string;
  lifecycle_status?: string;
  status_reason?: string;
}

export interface SandboxOverrides {
  cpu?: string;
  memory?: string;
  ttl?: number;
  env?: Record<string, string>;
}

export interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  /** Bunker extensions (absent on a real LiteBoxd server). */
  timed_out?: boolean;
  truncated?: boolean;
}

export interface ExecOptions {
  /** Seconds (default 30). */
  timeout?: number;
  /** Bunker extensions: extra environment and working directory. */
  env?: Record<string, string>;
  cwd?: string;
}

export interface LogsResult {
  logs: string;
  events: string[];
}

export interface ResourceSpec {
  cpu?: string;
  memory?: string;
}

export interface FileSpec {
  source?: string;
  destination: string;
  content?: string;
}

export interface ProbeSpec {
  exec: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface NetworkSpec {
  allowInternetAccess?: boolean;
  allowedDomains?: string[];
}

export interface TemplateSpec {
  image: string;
  command?: string[];
  args?: string[];
  resources?: ResourceSpec;
  ttl?: number;
  env?: Record<string, string>;
  startupScript?: string;
  startupTimeout?: number;
  files?: FileSpec[];
  readinessProbe?: ProbeSpec;
  network?: NetworkSpec;
}

export interface Template {
  id: string;
  name: string;
  displayName?: string;
  description?: string;
  tags?: string[];
  author?: string;
  isPublic: boolean;
  latestVersion: number;
  createdAt: string;
  updatedAt: string;
  spec?: TemplateSpec;
}

export interface TemplateVersion {
  id: string;
  templateId: string;
  version: number;
  spec: TemplateSpec;
  changelog?: string;
  createdBy?: string;
  createdAt: string;
}

export interface CreateTemplateRequest {
  name: string;
  displayName?: string;
  description?: string;
  tags?: string[];
  isPublic?: boolean;
  spec: TemplateSpec;
  autoPrepull?: boolean;
}

export interface UpdateTemplateRequest {
  displayName?: string;
  description?: string;
  tags?: string[];
  isPublic?: boolean;
  spec: TemplateSpec;
  changelog?: string;
}

export interface TemplateListResult {
  items: Template[];
  total: number;
  page: number;
  pageSize: number;
}

export interface VersionListResult {
  items: TemplateVersion[];
  total: number;
}

export interface RollbackResult {
  id: string;
  name: string;
  latestVersion: number;
  rolledBackFrom: number;
  rolledBackTo: number;
  updatedAt: string;
}

export type PrepullStatus = "pending" | "pulling" | "completed" | "failed";

export interface PrepullTask {
  id: string;
  image: string;
  status: PrepullStatus;
  progress?: { ready: number; total: number };
  template?: string;
  error?: string;
  startedAt: string;
  completedAt?: string;
}

export type ImportStrategy = "create-only" | "update-only" | "create-or-update";

export interface ImportResult {
  total: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  results: Array<{ name: string; action: "created" | "updated" | "skipped" | "failed"; version?: number; error?: string }>;
  prepullStarted?: string[];
}
