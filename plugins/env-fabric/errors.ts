// env-fabric's error codes and their HTTP status, used by name (`errors.ENV_NOT_FOUND("…")`). The codes are the
// Environment Fabric TRD's wire values: clients branch on them.
import { defineErrors } from "bunker/core";

export const errors = defineErrors({
  INVALID_ID: 400,
  INVALID_PACKAGES: 400,
  INVALID_PYTHON_VERSION: 400,
  /** Missing, or owned by someone else: the same answer, so nobody learns what others have. */
  ENV_NOT_FOUND: 404,
  ENV_ALREADY_EXISTS: 409,
  ENV_NOT_SYNCED: 409,
  /** Used again between the idle scan and its removal (a cleanup skip reason, never an HTTP answer). */
  ENV_IN_USE: 409,
  PACKAGE_RESOLUTION_FAILED: 422,
  ENV_LOCKED: 423,
  DB_AUDIT_ERROR: 500,
  UV_EXECUTION_ERROR: 500,
  EXECUTION_TIMEOUT: 504,
});
