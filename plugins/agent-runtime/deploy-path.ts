// Which server directory a path deploy may read. The server reads it as itself (root), so: with API keys (tenants),
// only inside the configured deployRoots, and not at all when none are configured; in open mode (loopback, no keys:
// the caller is the machine's own user) anywhere, as before. Paths are compared after realpath.
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { AgentConfigError } from "bunker/agent-config";
import type { Principal } from "bunker/core";
import { errors } from "./errors";
import { isInside } from "./project-files";

/** A project on the server's disk: its real root directory and the name of its agent.yaml there. */
export interface ProjectSource {
  root: string;
  configName: string;
}

/** The roots a user may deploy from: `{user}` in a configured root is replaced by the user id (one root per tenant). */
function deployRootsFor(roots: string[], userId: string): string[] {
  const safeUser = /^[A-Za-z0-9_.@-]+$/.test(userId) && userId !== "." && userId !== "..";
  return roots
    .filter((root) => safeUser || !root.includes("{user}"))
    .map((root) => root.replaceAll("{user}", userId))
    .map((root) => (existsSync(root) ? realpathSync(root) : resolve(root)));
}

/** Checks a path deploy of `path` by caller (a principal, or a user id: a plugin acting for a user, never open mode)
 * and returns the project it names. */
export function resolveDeployPath(caller: Principal | string, path: string, configuredRoots: string[]): ProjectSource {
  if (!isAbsolute(path)) throw errors.INVALID_PATH(`path ${path} must be absolute`);
  const openMode = typeof caller !== "string" && caller.keyId === null;
  const userId = typeof caller === "string" ? caller : caller.userId;
  if (!openMode && configuredRoots.length === 0) {
    throw errors.PATH_DEPLOY_DISABLED(
      "Deploying from a server path is off on a server with API keys (no agent-runtime deployRoots configured): upload the project instead (POST /agent-runtime/agents/deploy/archive, or `bunker agent deploy`)",
    );
  }
  const roots = configuredRoots.length === 0 ? ["/"] : deployRootsFor(configuredRoots, userId);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    real = resolve(path); // missing: judged by its name, so a refusal does not tell which outside paths exist
  }
  if (!roots.some((root) => isInside(root, real))) {
    throw errors.PATH_NOT_ALLOWED(`path ${path} is outside the directories agents may be deployed from`, { deployRoots: configuredRoots });
  }
  const st = statSync(real, { throwIfNoEntry: false });
  if (!st) {
    const missing = AgentConfigError.notFound(path);
    throw errors.INVALID_AGENT_CONFIG(missing.message, { issues: missing.issues });
  }
  if (st.isDirectory()) return { root: real, configName: "agent.yaml" };
  if (st.isFile()) return { root: dirname(real), configName: basename(real) };
  throw errors.PROJECT_FILE_REFUSED(`${path}: not a directory or a regular file`, { file: path, reason: "not a directory or a regular file" });
}
