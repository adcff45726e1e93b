// Input rules beyond the schemas: ids that are safe path segments and packages that are plain PEP 508 requirements.
import { badRequest } from "bunker/core";

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PYTHON_VERSION = /^\d+(\.\d+){0,2}$/;

export interface EnvIds {
  workflow_id: string;
  node_id: string;
  version_id: string;
}

export function checkIds(ids: EnvIds): EnvIds {
  for (const [field, value] of Object.entries(ids)) {
    if (!ID.test(value) || value.includes("..")) {
      throw badRequest(`${field} must be 1-64 letters, digits, "_", "." or "-", start with a letter or digit, and not contain ".."`, {
        field,
        value,
      }, "INVALID_ID");
    }
  }
  return ids;
}

export function checkPythonVersion(version: string): string {
  if (!PYTHON_VERSION.test(version)) {
    throw badRequest(`python_version must look like 3.11 or 3.11.7`, { python_version: version }, "INVALID_PYTHON_VERSION");
  }
  return version;
}

export interface PackagePolicy {
  allowDirectReferences: boolean;
  allowOptions: boolean;
}

// name, optional [extras], then either version specifiers or nothing, then an optional environment marker.
const NAME = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`;
const EXTRAS = String.raw`(?:\s*\[\s*${NAME}(?:\s*,\s*${NAME})*\s*\])?`;
const SPEC = String.raw`(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+`;
const SPECS = String.raw`(?:\s*\(?\s*${SPEC}(?:\s*,\s*${SPEC})*\s*\)?)?`;
const MARKER = String.raw`(?:\s*;\s*[A-Za-z0-9_.<>=!~"' ()-]+)?`;
const REQUIREMENT = new RegExp(`^${NAME}${EXTRAS}${SPECS}${MARKER}$`);
const DIRECT_REFERENCE = new RegExp(`^${NAME}${EXTRAS}\\s*@\\s*\\S+${MARKER}$`);
const BARE_NAME = new RegExp(`^${NAME}$`);
const LOCAL_OR_URL = /^(?:[./~]|[A-Za-z][A-Za-z0-9+.-]*:)/;

export function invalidPackages(message: string, packages: string[]) {
  return badRequest(message, { packages }, "INVALID_PACKAGES");
}

/** Returns the requirement strings trimmed, or throws 400 INVALID_PACKAGES naming the ones refused. */
export function checkRequirements(packages: string[], policy: PackagePolicy): string[] {
  const cleaned = packages.map((p) => p.trim());
  const refused = cleaned.filter((p) => {
    if (!p || p.length > 500 || /[\0\n\r]/.test(p)) return true;
    if (p.startsWith("-")) return !policy.allowOptions;
    if (REQUIREMENT.test(p)) return false;
    if (DIRECT_REFERENCE.test(p) || LOCAL_OR_URL.test(p)) return !policy.allowDirectReferences;
    return true;
  });
  if (refused.length) {
    throw invalidPackages(
      "packages must be PEP 508 requirement strings (name, extras, version specifiers, markers); options, URLs and local paths are not allowed",
      refused,
    );
  }
  return cleaned;
}

/** Package names for `uv remove`: bare names only. */
export function checkPackageNames(packages: string[]): string[] {
  const cleaned = packages.map((p) => p.trim());
  const refused = cleaned.filter((p) => !BARE_NAME.test(p));
  if (refused.length) throw invalidPackages("packages to remove must be bare package names", refused);
  return cleaned;
}

/** The requirement lines of a requirements.txt: comments and blank lines dropped, continuations joined. */
export function parseRequirementsFile(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
}
