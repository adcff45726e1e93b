// agent-runtime's error codes and their HTTP statuses: stable wire values the client and `bunker agent` read.
import { defineErrors } from "bunker/core";

export const errors = defineErrors({
  // deploys
  INVALID_PATH: 400,
  PATH_NOT_ALLOWED: 403,
  /** A server with API keys and no deployRoots takes projects only as uploads. */
  PATH_DEPLOY_DISABLED: 403,
  /** A project file that is a symlink leaving the project, or not a regular file. */
  PROJECT_FILE_REFUSED: 400,
  INVALID_AGENT_CONFIG: 400,
  /** agent.yaml over its cap (project-config.ts): refused before it is parsed. */
  AGENT_CONFIG_TOO_LARGE: 413,
  TEMPLATE_TAKEN: 409,
  ARCHIVE_REQUIRED: 400,
  INVALID_ARCHIVE: 400,
  ARCHIVE_TOO_LARGE: 413,
  PROJECT_TOO_LARGE: 413,
  BINARY_FILE_UNSUPPORTED: 400,
  DEPLOY_FAILED: 502,
  // dependencies (dependencies.ts)
  INVALID_PACKAGE_JSON: 400,
  INVALID_DEPENDENCY: 400,
  DEPENDENCY_INSTALL_FAILED: 422,
  DEPENDENCY_INSTALL_TIMEOUT: 504,
  DEPENDENCIES_TOO_LARGE: 413,
  // templates and sessions
  TEMPLATE_NOT_FOUND: 404,
  TEMPLATE_NOT_DEPLOYED: 409,
  SESSION_NOT_FOUND: 404,
  SESSION_PAUSED: 409,
  SESSION_NOT_RUNNING: 409,
  SANDBOXES_UNAVAILABLE: 503,
  SANDBOX_CREATION_FAILED: 502,
  SANDBOX_OPERATION_FAILED: 502,
  // invocations
  PORT_UNSUPPORTED: 400,
  PAYLOAD_TOO_LARGE: 413,
  AGENT_UNREACHABLE: 502,
});
