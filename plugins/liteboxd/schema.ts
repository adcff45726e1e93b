// The LiteBoxd wire models, written once: request schemas (TypeBox) and the shapes the API returns. Field casing is
// copied exactly from LiteBoxd (mixed on purpose: see WIRE.md). The client and contract.ts re-export these as types.
import { t } from "bunker/core";
import type { Static } from "@sinclair/typebox";

/** Size caps on what the API accepts (issue 17): generous for real templates and agents, small enough that one request
 * cannot make the server hold or store gigabytes. Fixed here, in the schema, so every route and the YAML import share
 * them; the caps that depend on the host or the operator are plugin config (index.ts). */
export const CAPS = {
  /** Names of templates (a DNS label) and of what refers to them. */
  name: 63,
  /** Short labels: displayName, a tag, a quantity, an env variable's name. */
  label: 256,
  /** Paths, image references, probe paths, domains. */
  path: 4096,
  /** description, changelog. */
  text: 16 * 1024,
  /** One argv element, one env value (Linux refuses a longer single argument: MAX_ARG_STRLEN is 128 KiB). */
  argument: 128 * 1024,
  /** The startup script. */
  script: 1024 * 1024,
  argvItems: 4096,
  envEntries: 1024,
  tags: 64,
  files: 10_000,
  domains: 256,
  /** Seconds: ten years for a TTL, a day for anything that waits. */
  ttlSeconds: 10 * 365 * 24 * 3600,
  waitSeconds: 24 * 3600,
  /** The largest 32-bit integer: template versions are SQL INTEGERs, and no counter needs more. */
  int32: 2 ** 31 - 1,
} as const;

const Label = (options: { minLength?: number } = {}) => t.String({ maxLength: CAPS.label, ...options });
const Path = (options: { minLength?: number } = {}) => t.String({ maxLength: CAPS.path, ...options });
const Argv = (options: { minItems?: number } = {}) => t.Array(t.String({ maxLength: CAPS.argument }), { maxItems: CAPS.argvItems, ...options });
/** Environment variables: a name without "=" or NUL, a value of one argument's size at most. */
const EnvMap = t.Record(t.String({ pattern: `^[^=\\u0000]{1,${CAPS.label}}$` }), t.String({ maxLength: CAPS.argument }), {
  maxProperties: CAPS.envEntries,
  additionalProperties: false,
});

export const TemplateSpecSchema = t.Object({
  image: Path({ minLength: 1 }),
  command: t.Optional(Argv()),
  args: t.Optional(Argv()),
  resources: t.Optional(t.Object({ cpu: t.Optional(Label()), memory: t.Optional(Label()) })),
  ttl: t.Optional(t.Integer({ minimum: 0, maximum: CAPS.ttlSeconds })),
  env: t.Optional(EnvMap),
  startupScript: t.Optional(t.String({ maxLength: CAPS.script })),
  startupTimeout: t.Optional(t.Integer({ minimum: 1, maximum: CAPS.waitSeconds })),
  /** Bunker extension: `encoding: "base64"` for binary content. Files are placed before `command` starts. The total
   * size of their content is capped by the plugin config `maxTemplateFilesBytes`. */
  files: t.Optional(t.Array(t.Object({
    source: t.Optional(Path()),
    destination: Path({ minLength: 1 }),
    content: t.Optional(t.String()),
    encoding: t.Optional(t.Union([t.Literal("utf8"), t.Literal("base64")])),
  }), { maxItems: CAPS.files })),
  /** `exec` (LiteBoxd) or, as a Bunker extension, `httpGet` (2xx/3xx from a port inside the sandbox). */
  readinessProbe: t.Optional(t.Object({
    exec: t.Optional(t.Object({ command: Argv({ minItems: 1 }) })),
    httpGet: t.Optional(t.Object({ path: t.Optional(Path()), port: t.Integer({ minimum: 1, maximum: 65535 }) })),
    initialDelaySeconds: t.Optional(t.Integer({ minimum: 0, maximum: CAPS.waitSeconds })),
    periodSeconds: t.Optional(t.Integer({ minimum: 0, maximum: CAPS.waitSeconds })),
    failureThreshold: t.Optional(t.Integer({ minimum: 1, maximum: CAPS.int32 })),
  })),
  network: t.Optional(t.Object({
    allowInternetAccess: t.Optional(t.Boolean()),
    allowedDomains: t.Optional(t.Array(t.String({ maxLength: 253 }), { maxItems: CAPS.domains })),
  })),
  /** Bunker extension: free JSON kept with the template version (LiteBoxd clients ignore it); 64 KiB serialized at
   * most (METADATA_MAX_BYTES, checked by the template rules: a schema cannot measure it). */
  metadata: t.Optional(t.Record(t.String(), t.Unknown())),
});
export type TemplateSpec = Static<typeof TemplateSpecSchema>;

export const TEMPLATE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** LiteBoxd's Go SDK and CLI send null for the optional fields they leave unset: null means "not given". */
const Unset = <T extends Parameters<typeof t.Nullable>[0]>(schema: T) => t.Optional(t.Nullable(schema));

/** Serialized size cap of a spec's `metadata`. */
export const METADATA_MAX_BYTES = 64 * 1024;

const Tags = t.Array(Label(), { maxItems: CAPS.tags });
const Text = () => t.String({ maxLength: CAPS.text });

export const CreateTemplateBody = t.Object({
  name: t.String({ maxLength: CAPS.name }),
  displayName: Unset(Label()),
  description: Unset(Text()),
  tags: Unset(Tags),
  isPublic: Unset(t.Boolean()),
  spec: TemplateSpecSchema,
  autoPrepull: Unset(t.Boolean()),
});
export type CreateTemplateRequest = Static<typeof CreateTemplateBody>;

export const UpdateTemplateBody = t.Object({
  displayName: Unset(Label()),
  description: Unset(Text()),
  tags: Unset(Tags),
  isPublic: Unset(t.Boolean()),
  spec: TemplateSpecSchema,
  changelog: Unset(Text()),
});
export type UpdateTemplateRequest = Static<typeof UpdateTemplateBody>;

export const RollbackBody = t.Object({ targetVersion: t.Integer({ minimum: 1, maximum: CAPS.int32 }), changelog: t.Optional(Text()) });

export const CreateSandboxBody = t.Object({
  template: t.String({ minLength: 1, maxLength: CAPS.name }),
  /** 0 or null: the latest version (what LiteBoxd's Go SDK sends when none is chosen). */
  templateVersion: Unset(t.Integer({ minimum: 0, maximum: CAPS.int32 })),
  overrides: t.Optional(t.Object({
    cpu: t.Optional(Label()),
    memory: t.Optional(Label()),
    ttl: t.Optional(t.Integer({ minimum: 0, maximum: CAPS.ttlSeconds })),
    env: t.Optional(EnvMap),
  })),
});
export type CreateSandboxRequest = Static<typeof CreateSandboxBody>;
export type SandboxOverrides = NonNullable<CreateSandboxRequest["overrides"]>;
export type ResourceSpec = NonNullable<TemplateSpec["resources"]>;
export type FileSpec = NonNullable<TemplateSpec["files"]>[number];
export type ProbeSpec = NonNullable<TemplateSpec["readinessProbe"]>;
export type NetworkSpec = NonNullable<TemplateSpec["network"]>;

export const ExecBody = t.Object({
  command: Argv({ minItems: 1 }),
  timeout: t.Optional(t.Integer({ minimum: 1, maximum: 3600 })),
  /** Beyond LiteBoxd: extra environment and working directory for this command. */
  env: t.Optional(EnvMap),
  cwd: t.Optional(Path()),
});
export type ExecRequest = Static<typeof ExecBody>;

export const PrepullBody = t.Object({ image: Path({ minLength: 1 }), timeout: t.Optional(t.Integer({ minimum: 1, maximum: CAPS.waitSeconds })) });
export type PrepullRequest = Static<typeof PrepullBody>;

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

/** A file of a spec as lists show it (GET /templates, GET /templates/:name/versions): its content, which can weigh
 * megabytes, left out; `size` is the decoded bytes of that content (0 for a file from `source`). */
export interface FileSummary {
  source?: string;
  destination: string;
  encoding?: "utf8" | "base64";
  size: number;
}

/** A spec as lists show it: whole but for each file's content. */
export type SpecSummary = Omit<TemplateSpec, "files"> & { files?: FileSummary[] };

export interface TemplateWire<S extends TemplateSpec | SpecSummary = TemplateSpec> {
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
  spec?: S;
}

export interface TemplateVersionWire<S extends TemplateSpec | SpecSummary = TemplateSpec> {
  id: string;
  templateId: string;
  version: number;
  spec: S;
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
  /** Each with its latest spec, files' content left out. */
  items: Array<TemplateWire<SpecSummary>>;
  total: number;
  page: number;
  pageSize: number;
}

export interface VersionListWire {
  /** Each with its spec, files' content left out. */
  items: Array<TemplateVersionWire<SpecSummary>>;
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
