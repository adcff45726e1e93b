// The host's wire contract (TypeBox): sessions, templates, deploys. The client imports the types only.
import { type Static, Type } from "@sinclair/typebox";
import { AgentConfigSchema, AgentStatusSchema } from "bunker/agent-config";

/** A template's (or a session's) id wherever a caller names one: a body, a query, a path. */
export const TemplateIdSchema = Type.String({ minLength: 1, maxLength: 128 });

export const SessionStatus = Type.Union([
  Type.Literal("active"),
  Type.Literal("paused"),
  Type.Literal("inactive"),
  Type.Literal("closed"),
  Type.Literal("error"),
]);
export type SessionStatus = Static<typeof SessionStatus>;

export const SessionSchema = Type.Object({
  session_id: Type.String(),
  sandbox_id: Type.String(),
  template_id: Type.String(),
  status: SessionStatus,
  created_at: Type.String(),
  last_activity: Type.String(),
  expires_at: Type.String(),
  age_seconds: Type.Number(),
  idle_seconds: Type.Number(),
  /** Where the agent answers through Bunker: POST {host_url}/invocations, GET {host_url}/ping. */
  host_url: Type.String(),
  error: Type.Optional(Type.String()),
});
export type Session = Static<typeof SessionSchema>;

export const TemplateSchema = Type.Object({
  template_id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  description: Type.Optional(Type.String()),
  author: Type.Optional(Type.String()),
  tags: Type.Array(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
  status: Type.String(),
  /** The liteboxd template version the latest deploy made (each redeploy adds one). */
  template_version: Type.Integer(),
  /** `{ agent: AgentConfig }`, the whole agent.yaml including its status. */
  metadata: Type.Object({ agent: AgentConfigSchema }),
  size: Type.Optional(Type.Integer()),
  build_time: Type.Optional(Type.Number()),
});
export type AgentTemplate = Static<typeof TemplateSchema>;

export const DeployBodySchema = Type.Object({
  /** A directory on the server holding agent.yaml. */
  path: Type.String({ minLength: 1, maxLength: 4096 }),
  /** Template name for a redeploy to version (default: metadata.name). */
  template_id: Type.Optional(TemplateIdSchema),
});

export const DeployResultSchema = Type.Object({
  status: AgentStatusSchema,
  template: Type.Optional(TemplateSchema),
  agent: AgentConfigSchema,
});
export type DeployResult = Static<typeof DeployResultSchema>;

export const CreateSessionBodySchema = Type.Object({
  template_id: TemplateIdSchema,
  timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  env_vars: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String())),
});
export type CreateSessionBody = Static<typeof CreateSessionBodySchema>;

export const RefreshBodySchema = Type.Object({ timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })) });

export const ListTemplatesQuerySchema = Type.Object({
  /** Comma-separated; a template matches when it has every tag. */
  tags: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
});

export interface PingResponse {
  status: "Healthy" | "HealthyBusy" | string;
  time_of_last_update?: number;
  [key: string]: unknown;
}

export interface InvocationResponse {
  result: unknown;
  status: string;
  duration: number;
  metadata?: Record<string, unknown>;
  error?: string;
  error_type?: string;
}
