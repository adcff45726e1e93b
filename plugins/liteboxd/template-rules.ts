// What a template request must satisfy wherever it comes from (the JSON routes, a YAML import, another plugin): the
// request schemas of schema.ts (one source of truth), the rules a schema cannot say, and LiteBoxd's defaults.
import type { Static, TSchema } from "@sinclair/typebox";
import { TransformDecodeCheckError, Value, type ValueError } from "@sinclair/typebox/value";
import { fieldOf, jsonShapeProblem } from "bunker/core";
import { errors } from "./errors";
import type { ResourceCeiling } from "./resource-ceiling";
import { METADATA_MAX_BYTES, type TemplateSpec } from "./schema";

export interface TemplateLimits {
  resources: ResourceCeiling;
  /** The total size of the content of a spec's files (decoded bytes). */
  maxFilesBytes: number;
}

/** Elysia's t.Integer is a union: name the variant that fits the value rather than "Expected union value". */
function explain(error: ValueError): string {
  const inner = error.errors?.flatMap((iterator) => [...iterator]) ?? [];
  return (inner.find((e) => !/Expected string/.test(e.message)) ?? inner[0] ?? error).message;
}

/** Checks `value` against a request schema and decodes it as the routes do (Elysia's t.Integer takes "300" for
 * 300), in one pass; the 400 names the first failing field as the JSON routes do. */
function decodeWithSchema<T extends TSchema>(schema: T, value: unknown): Static<T> {
  try {
    return Value.Decode(schema, value);
  } catch (error) {
    if (!(error instanceof TransformDecodeCheckError)) throw error;
    const field = fieldOf(error.error.path) || "body";
    throw errors.INVALID_REQUEST(`invalid template: ${field}: ${explain(error.error)}`, { field });
  }
}

/** The bytes a file's content stands for (decoded from base64 when it is); 0 for a file from `source`. */
export const decodedSize = (file: NonNullable<TemplateSpec["files"]>[number]) =>
  file.content === undefined ? 0 : file.encoding === "base64" ? Math.floor((file.content.replace(/[\s=]/g, "").length * 3) / 4) : Buffer.byteLength(file.content);

/** Rules across fields and sizes a schema cannot measure; throws INVALID_REQUEST naming the field. */
function checkSpecRules(spec: TemplateSpec, limits: TemplateLimits): void {
  if (spec.readinessProbe && !spec.readinessProbe.exec && !spec.readinessProbe.httpGet) {
    throw errors.INVALID_REQUEST("spec.readinessProbe needs exec.command or httpGet.port");
  }
  let filesBytes = 0;
  for (const f of spec.files ?? []) {
    if (f.content === undefined && !f.source) throw errors.INVALID_REQUEST(`spec.files: ${f.destination} needs content or source`);
    if (f.encoding === "base64" && f.content !== undefined && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(f.content)) {
      throw errors.INVALID_REQUEST(`spec.files: ${f.destination} is not valid base64`);
    }
    filesBytes += decodedSize(f);
  }
  if (filesBytes > limits.maxFilesBytes) {
    throw errors.INVALID_REQUEST(`spec.files: ${filesBytes} bytes of content is above the limit of ${limits.maxFilesBytes} (plugins.liteboxd.maxTemplateFilesBytes)`);
  }
  if (spec.metadata !== undefined) {
    // Free-form JSON: the core's shape check bounds its depth (deep nesting breaks recursive JSON code) and size.
    const problem = jsonShapeProblem(spec.metadata, { maxDepth: 32, maxKeyLength: 256, maxBytes: METADATA_MAX_BYTES });
    if (problem) throw errors.INVALID_REQUEST(`spec.metadata: ${problem}`);
  }
}

/** LiteBoxd's defaults, filled when a version is stored so that every stored spec is complete. An empty quantity
 * ("" is what LiteBoxd's Go SDK sends for a field left blank) gets the default too, as LiteBoxd does. */
function withDefaults(spec: TemplateSpec): TemplateSpec {
  return {
    ...spec,
    resources: { cpu: spec.resources?.cpu || "500m", memory: spec.resources?.memory || "512Mi" },
    ttl: spec.ttl ?? 3600,
    startupTimeout: spec.startupTimeout ?? 300,
  };
}

/** Validates a create or update request against its schema and the spec rules: the request as decoded, with the
 * spec as it is stored. */
export function admitTemplateRequest<T extends TSchema & { static: { spec: TemplateSpec } }>(schema: T, request: unknown, limits: TemplateLimits): Static<T> {
  const decoded = decodeWithSchema(schema, request);
  checkSpecRules(decoded.spec, limits);
  // Only what the caller gave is held against the floor and the ceiling here; the defaults are checked when a sandbox
  // is created, so a lowered maximum does not make every template without resources unstorable.
  limits.resources.admit(decoded.spec.resources?.cpu, decoded.spec.resources?.memory);
  return { ...decoded, spec: withDefaults(decoded.spec) };
}
