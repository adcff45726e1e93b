// The wire contract of env-fabric (field names as in the Environment Fabric TRD). Every string and array has a cap,
// so an oversized value is a 400 from the schema (which never echoes it) before any code looks at it; the id rules
// themselves (INVALID_ID) are in validate.ts.
import { t, USER_ID_PATTERN } from "bunker/core";
import { MAX_PACKAGES, MAX_REQUIREMENT_LENGTH } from "./validate";

/** Longer than any valid id (64), so a near-miss still gets the INVALID_ID message that explains the rule. */
const Id = (description: string) => t.String({ maxLength: 128, description });
/** A user id as API keys carry it. */
const Owner = t.String({ pattern: USER_ID_PATTERN, description: "Whose env (admins); default: the caller's own" });
const Requirement = t.String({ maxLength: MAX_REQUIREMENT_LENGTH });
const MAX_CODE_CHARS = 1024 * 1024;

export const EnvParams = t.Object({ workflow_id: Id("Workflow id"), node_id: Id("Node id") });

export const VersionQuery = t.Object({
  version_id: t.Optional(Id("Version id (default v1)")),
  owner: t.Optional(Owner),
  /** Seconds to wait for a busy env instead of answering 423 ENV_LOCKED. */
  wait: t.Optional(t.Number({ minimum: 0, maximum: 3600 })),
});

/** Form data (with an uploaded requirements_file) or JSON. `packages` may repeat, or be one JSON-array string. */
export const CreateEnvBody = t.Object({
  workflow_id: Id("Workflow id"),
  node_id: Id("Node id"),
  version_id: t.Optional(Id("Version id (default v1)")),
  python_version: t.Optional(t.String({ maxLength: 32 })),
  packages: t.Optional(t.Union([t.Array(Requirement, { maxItems: MAX_PACKAGES }), t.String({ maxLength: MAX_PACKAGES * MAX_REQUIREMENT_LENGTH })])),
  requirements_file: t.Optional(t.File({ maxSize: "1m" })),
});

export const PackagesBody = t.Object({
  packages: t.Array(Requirement, { minItems: 1, maxItems: MAX_PACKAGES }),
});

export const RunBody = t.Object({
  code: t.String({ minLength: 1, maxLength: MAX_CODE_CHARS }),
  /** Seconds. */
  timeout: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 3600 })),
});

export const ListQuery = t.Object({ workflow_id: t.Optional(Id("Workflow id")), owner: t.Optional(Owner) });

export const CleanupBody = t.Optional(
  t.Object({
    /** Up to ten years. */
    idle_hours: t.Optional(t.Number({ minimum: 0, maximum: 87_600 })),
    dry_run: t.Optional(t.Boolean()),
  }),
);

export const OperationsQuery = t.Object({
  workflow_id: t.Optional(Id("Workflow id")),
  node_id: t.Optional(Id("Node id")),
  version_id: t.Optional(Id("Version id")),
  owner: t.Optional(Owner),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
});
