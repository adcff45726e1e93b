// The LiteBoxd wire models (field casing copied exactly from the contract: mixed on purpose).
import { t } from "bunker/core";
import type { Static } from "@sinclair/typebox";

const StringMap = t.Record(t.String(), t.String());

export const TemplateSpecSchema = t.Object({
  image: t.String({ minLength: 1 }),
  command: t.Optional(t.Array(t.String())),
  args: t.Optional(t.Array(t.String())),
  resources: t.Optional(t.Object({ cpu: t.Optional(t.String()), memory: t.Optional(t.String()) })),
  ttl: t.Optional(t.Integer({ minimum: 0 })),
  env: t.Optional(StringMap),
  startupScript: t.Optional(t.String()),
  startupTimeout: t.Optional(t.Integer({ minimum: 1 })),
  /** Bunker extension: `encoding: "base64"` for binary content. Files are placed before `command` starts. */
  files: t.Optional(t.Array(t.Object({
    source: t.Optional(t.String()),
    destination: t.String(),
    content: t.Optional(t.String()),
    encoding: t.Optional(t.Union([t.Literal("utf8"), t.Literal("base64")])),
  }))),
  /** `exec` (LiteBoxd) or, as a Bunker extension, `httpGet` (2xx/3xx from a port inside the sandbox). */
  readinessProbe: t.Optional(t.Object({
    exec: t.Optional(t.Object({ command: t.Array(t.String(), { minItems: 1 }) })),
    httpGet: t.Optional(t.Object({ path: t.Optional(t.String()), port: t.Integer({ minimum: 1, maximum: 65535 }) })),
    initialDelaySeconds: t.Optional(t.Integer({ minimum: 0 })),
    periodSeconds: t.Optional(t.Integer({ minimum: 0 })),
    failureThreshold: t.Optional(t.Integer({ minimum: 1 })),
  })),
  network: t.Optional(t.Object({ allowInternetAccess: t.Optional(t.Boolean()), allowedDomains: t.Optional(t.Array(t.String())) })),
  /** Bunker extension: free JSON kept with the template version (LiteBoxd clients ignore it). */
  metadata: t.Optional(t.Record(t.String(), t.Unknown())),
});
export type TemplateSpec = Static<typeof TemplateSpecSchema>;

export const TEMPLATE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const CreateTemplateBody = t.Object({
  name: t.String(),
  displayName: t.Optional(t.String()),
  description: t.Optional(t.String()),
  tags: t.Optional(t.Array(t.String())),
  isPublic: t.Optional(t.Boolean()),
  spec: TemplateSpecSchema,
  autoPrepull: t.Optional(t.Boolean()),
});
export type CreateTemplateRequest = Static<typeof CreateTemplateBody>;

export const UpdateTemplateBody = t.Object({
  displayName: t.Optional(t.String()),
  description: t.Optional(t.String()),
  tags: t.Optional(t.Array(t.String())),
  isPublic: t.Optional(t.Boolean()),
  spec: TemplateSpecSchema,
  changelog: t.Optional(t.String()),
});
export type UpdateTemplateRequest = Static<typeof UpdateTemplateBody>;

export const RollbackBody = t.Object({ targetVersion: t.Integer({ minimum: 1 }), changelog: t.Optional(t.String()) });

export const CreateSandboxBody = t.Object({
  template: t.String({ minLength: 1 }),
  templateVersion: t.Optional(t.Integer({ minimum: 1 })),
  overrides: t.Optional(t.Object({
    cpu: t.Optional(t.String()),
    memory: t.Optional(t.String()),
    ttl: t.Optional(t.Integer({ minimum: 0 })),
    env: t.Optional(StringMap),
  })),
});
export type CreateSandboxRequest = Static<typeof CreateSandboxBody>;

export const ExecBody = t.Object({
  command: t.Array(t.String(), { minItems: 1 }),
  timeout: t.Optional(t.Integer({ minimum: 1, maximum: 3600 })),
  /** Beyond LiteBoxd: extra environment and working directory for this command. */
  env: t.Optional(StringMap),
  cwd: t.Optional(t.String()),
});
export type ExecRequest = Static<typeof ExecBody>;

export const PrepullBody = t.Object({ image: t.String({ minLength: 1 }), timeout: t.Optional(t.Integer({ minimum: 1 })) });

/** The wire shapes the API returns. */
export interface SandboxWire {
  id: string;
  image: string;
  cpu: string;
  memory: string;
  ttl: number;
  env: Record<string, string>;
  status: "pending" | "running" | "paused" | "succeeded" | "failed" | "stopped" | "terminating" | "unknown";
  template?: string;
  templateVersion?: number;
  accessToken?: string;
  accessUrl: string;
  runtimeKind: string;
  created_at: string;
  expires_at: string;
  updated_at: string;
  desired_state: string;
  lifecycle_status: string;
  status_reason?: string;
}

export interface TemplateWire {
  id: string;
  name: string;
  displayName?: string;
  description?: string;
  tags: string[];
  author?: string;
  isPublic: boolean;
  latestVersion: number;
  createdAt: string;
  updatedAt: string;
  spec?: TemplateSpec;
}

export interface TemplateVersionWire {
  id: string;
  templateId: string;
  version: number;
  spec: TemplateSpec;
  changelog?: string;
  createdBy?: string;
  createdAt: string;
}

export interface PrepullWire {
  id: string;
  image: string;
  status: "pending" | "pulling" | "completed" | "failed";
  progress: { ready: number; total: number };
  template?: string;
  error?: string;
  startedAt: string;
  completedAt?: string;
}

export interface ExecResultWire {
  exit_code: number;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  truncated: boolean;
}

export interface ImportResultWire {
  total: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  results: Array<{ name: string; action: "created" | "updated" | "skipped" | "failed"; version?: number; error?: string }>;
  prepullStarted: string[];
}
