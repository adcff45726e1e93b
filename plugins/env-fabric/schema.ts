// The wire contract of env-fabric (field names as in the Environment Fabric TRD).
import { t } from "bunker/core";

export const EnvParams = t.Object({ workflow_id: t.String(), node_id: t.String() });

export const VersionQuery = t.Object({
  version_id: t.Optional(t.String()),
  /** Seconds to wait for a busy env instead of answering 423 ENV_LOCKED. */
  wait: t.Optional(t.Numeric({ minimum: 0, maximum: 3600 })),
});

/** Form data (with an uploaded requirements_file) or JSON. `packages` may repeat, or be one JSON-array string. */
export const CreateEnvBody = t.Object({
  workflow_id: t.String(),
  node_id: t.String(),
  version_id: t.Optional(t.String()),
  python_version: t.Optional(t.String()),
  packages: t.Optional(t.Union([t.Array(t.String()), t.String()])),
  requirements_file: t.Optional(t.File()),
});

export const PackagesBody = t.Object({
  packages: t.Array(t.String(), { minItems: 1, maxItems: 200 }),
});

export const RunBody = t.Object({
  code: t.String({ minLength: 1, maxLength: 1_000_000 }),
  /** Seconds. */
  timeout: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 3600 })),
});

export const ListQuery = t.Object({ workflow_id: t.Optional(t.String()) });

export const CleanupBody = t.Optional(
  t.Object({
    idle_hours: t.Optional(t.Number({ minimum: 0 })),
    dry_run: t.Optional(t.Boolean()),
  }),
);

export const OperationsQuery = t.Object({
  workflow_id: t.Optional(t.String()),
  node_id: t.Optional(t.String()),
  version_id: t.Optional(t.String()),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000 })),
});
