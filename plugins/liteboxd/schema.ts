// The LiteBoxd wire models, written once: request schemas (TypeBox) and the shapes the API returns. Field casing is
// copied exactly from LiteBoxd (mixed on purpose: see WIRE.md). The client and contract.ts re-export these as types.
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

/** LiteBoxd's Go SDK and CLI send null for the optional fields they leave unset: null means "not given". */
const Unset = <T extends Parameters<typeof t.Nullable>[0]>(schema: T) => t.Optional(t.Nullable(schema));

export const CreateTemplateBody = t.Object({
  name: t.String(),
  displayName: Unset(t.String()),
  description: Unset(t.String()),
  tags: Unset(t.Array(t.String())),
  isPublic: Unset(t.Boolean()),
  spec: TemplateSpecSchema,
  autoPrepull: Unset(t.Boolean()),
});
export type CreateTemplateRequest = Static<typeof CreateTemplateBody>;

export const UpdateTemplateBody = t.Object({
  displayName: Unset(t.String()),
  description: Unset(t.String()),
  tags: Unset(t.Array(t.String())),
  isPublic: Unset(t.Boolean()),
  spec: TemplateSpecSchema,
  changelog: Unset(t.String()),
});
export type UpdateTemplateRequest = Static<typeof UpdateTemplateBody>;

export const RollbackBody = t.Object({ targetVersion: t.Integer({ minimum: 1 }), changelog: t.Optional(t.String()) });

export const CreateSandboxBody = t.Object({
  template: t.String({ minLength: 1 }),
  /** 0 or null: the latest version (what LiteBoxd's Go SDK sends when none is chosen). */
  templateVersion: Unset(t.Integer({ minimum: 0 })),
  overrides: t.Optional(t.Object({
    cpu: t.Optional(t.String()),
    memory: t.Optional(t.String()),
    ttl: t.Optional(t.Integer({ minimum: 0 })),
    env: t.Optional(StringMap),
  })),
});
export type CreateSandboxRequest = Static<typeof CreateSandboxBody>;
export type SandboxOverrides = NonNullable<CreateSandboxRequest["overrides"]>;
export type ResourceSpec = NonNullable<TemplateSpec["resources"]>;
export type FileSpec = NonNullable<TemplateSpec["files"]>[number];
export type ProbeSpec = NonNullable<TemplateSpec["readinessProbe"]>;
export type NetworkSpec = NonNullable<TemplateSpec["network"]>;

export const ExecBody = t.Object({
  command: t.Array(t.String(), { minItems: 1 }),
  timeout: t.Optional(t.Integer({ minimum: 1, maximum: 3600 })),
  /** Beyond LiteBoxd: extra environment and working directory for this command. */
  env: t.Optional(StringMap),
  cwd: t.Optional(t.String()),
});
export type ExecRequest = Static<typeof ExecBody>;

export const PrepullBody = t.Object({ image: t.String({ minLength: 1 }), timeout: t.Optional(t.Integer({ minimum: 1 })) });

/** "paused" is Bunker's (POST /sandboxes/:id/pause); a LiteBoxd server never reports it. */
export type SandboxStatus = "pending" | "running" | "paused" | "succeeded" | "failed" | "stopped" | "terminating" | "unknown";

/** The wire shapes the API returns. */
export interface SandboxWire {
  id: string;
  image: string;
  cpu: string;
  memory: string;
  ttl: number;
  env: Record<string, string>;
  status: SandboxStatus;
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

export type PrepullStatus = "pending" | "pulling" | "completed" | "failed";

export interface PrepullWire {
  id: string;
  image: string;
  status: PrepullStatus;
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

export interface LogsWire {
  logs: string;
  /** "[Type] Reason: message", oldest first. */
  events: string[];
}

export interface TemplateListWire {
  items: TemplateWire[];
  total: number;
  page: number;
  pageSize: number;
}

export interface VersionListWire {
  items: TemplateVersionWire[];
  total: number;
}

export interface RollbackWire {
  id: string;
  name: string;
  latestVersion: number;
  rolledBackFrom: number;
  rolledBackTo: number;
  updatedAt: string;
}

export interface PrepullListWire {
  items: PrepullWire[];
}

export type ImportStrategy = "create-only" | "update-only" | "create-or-update";

export interface ImportResultWire {
  total: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  results: Array<{ name: string; action: "created" | "updated" | "skipped" | "failed"; version?: number; error?: string }>;
  prepullStarted: string[];
}
