// Input rules beyond the schemas: ids that are safe path segments and packages that are plain PEP 508 requirements.
import { errors } from "./errors";

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PYTHON_VERSION = /^\d+(\.\d+){0,2}$/;
/** The longest requirement string accepted, and how much of a refused one an error echoes back. */
export const MAX_REQUIREMENT_LENGTH = 500;
const ECHO_LENGTH = 120;
/** Requirements in one create (packages plus requirements file) or one add. */
export const MAX_PACKAGES = 500;

export interface EnvIds {
  workflow_id: string;
  node_id: string;
  version_id: string;
}

/** A value as an error may quote it: never the whole of an over-long input. */
export const echo = (value: string) => (value.length > ECHO_LENGTH ? `${value.slice(0, ECHO_LENGTH)}… (${value.length} characters)` : value);

export function checkIds(ids: EnvIds): EnvIds {
  for (const [field, value] of Object.entries(ids)) {
    if (!ID.test(value) || value.includes("..")) {
      throw errors.INVALID_ID(`${field} must be 1-64 letters, digits, "_", "." or "-", start with a letter or digit, and not contain ".."`, {
        field,
        value: echo(value),
      });
    }
  }
  return ids;
}

export function checkPythonVersion(version: string): string {
  if (!PYTHON_VERSION.test(version)) {
    throw errors.INVALID_PYTHON_VERSION(`python_version must look like 3.11 or 3.11.7`, { python_version: echo(version) });
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
// A marker is PEP 508's grammar, not a character class: comparisons of marker variables and quoted strings joined by
// and/or. Anything after it (an option such as `--pre`) makes the whole string refused instead of reaching uv.
const MARKER_VAR = String.raw`(?:python_version|python_full_version|os_name|sys_platform|platform_release|platform_system|platform_version|platform_machine|platform_python_implementation|implementation_name|implementation_version|extra)`;
const MARKER_VALUE = String.raw`(?:${MARKER_VAR}|"[^"'\\\0\r\n]*"|'[^"'\\\0\r\n]*')`;
const MARKER_OP = String.raw`(?:===|==|!=|<=|>=|~=|<|>|\s+not\s+in\s+|\s+in\s+)`;
const MARKER_ATOM = String.raw`\(*\s*${MARKER_VALUE}\s*${MARKER_OP}\s*${MARKER_VALUE}\s*\)*`;
const MARKER = String.raw`(?:\s*;\s*${MARKER_ATOM}(?:\s+(?:and|or)\s+${MARKER_ATOM})*)?`;
const REQUIREMENT = new RegExp(`^${NAME}${EXTRAS}${SPECS}\\s*${MARKER}\\s*$`);
const DIRECT_REFERENCE = new RegExp(`^${NAME}${EXTRAS}\\s*@\\s*[^\\s;]+\\s*${MARKER}\\s*$`);
const BARE_NAME = new RegExp(`^${NAME}$`);
const LOCAL_OR_URL = /^(?:[./~]|[A-Za-z][A-Za-z0-9+.-]*:)\S*$/;

const balancedParentheses = (text: string) => {
  let depth = 0;
  for (const ch of text.replace(/"[^"]*"|'[^']*'/g, "")) {
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return false;
  }
  return depth === 0;
};

export function invalidPackages(message: string, packages: string[]) {
  return errors.INVALID_PACKAGES(message, { packages: packages.slice(0, 20).map(echo) });
}

function refusedRequirement(p: string, policy: PackagePolicy): boolean {
  if (!p || p.length > MAX_REQUIREMENT_LENGTH || /[\0\n\r]/.test(p)) return true;
  if (p.startsWith("-")) return !policy.allowOptions;
  if (REQUIREMENT.test(p)) return !balancedParentheses(p);
  if (DIRECT_REFERENCE.test(p) || LOCAL_OR_URL.test(p)) return !policy.allowDirectReferences;
  return true;
}

/** Returns the requirement strings trimmed, or throws 400 INVALID_PACKAGES naming the ones refused. */
export function checkRequirements(packages: string[], policy: PackagePolicy): string[] {
  if (packages.length > MAX_PACKAGES) {
    throw errors.INVALID_PACKAGES(`at most ${MAX_PACKAGES} packages at once (got ${packages.length})`, { count: packages.length, limit: MAX_PACKAGES });
  }
  const cleaned = packages.map((p) => p.trim());
  const refused = cleaned.filter((p) => refusedRequirement(p, policy));
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
