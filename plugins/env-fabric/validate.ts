// Input rules beyond the schemas: ids that are safe path segments and packages that are plain PEP 508 requirements.
import { quoted } from "bunker/core";
import { errors } from "./errors";

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PYTHON_VERSION = /^\d+(\.\d+){0,2}$/;
/** The longest requirement string accepted. */
export const MAX_REQUIREMENT_LENGTH = 500;
/** How much of a refused value an error quotes back. */
export const QUOTE_LENGTH = 120;
/** Requirements in one create or one add: the schema's cap on a `packages` list, and (as the sum of the list and the
 * lines of an uploaded requirements file) checkRequirements' own. */
export const MAX_PACKAGES = 200;

export interface EnvIds {
  workflow_id: string;
  node_id: string;
  version_id: string;
}

export function checkIds(ids: EnvIds): EnvIds {
  for (const [field, value] of Object.entries(ids)) {
    if (!ID.test(value) || value.includes("..")) {
      throw errors.INVALID_ID(`${field} must be 1-64 letters, digits, "_", "." or "-", start with a letter or digit, and not contain ".."`, {
        field,
        value: quoted(value, QUOTE_LENGTH),
      });
    }
  }
  return ids;
}

export function checkPythonVersion(version: string): string {
  if (!PYTHON_VERSION.test(version)) {
    throw errors.INVALID_PYTHON_VERSION(`python_version must look like 3.11 or 3.11.7`, { python_version: quoted(version, QUOTE_LENGTH) });
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
const REQUIREMENT = new RegExp(`^${NAME}${EXTRAS}${SPECS}${MARKER}$`);
const DIRECT_REFERENCE = new RegExp(`^${NAME}${EXTRAS}\\s*@\\s*[^\\s;]+${MARKER}$`);
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
  return errors.INVALID_PACKAGES(message, { packages: packages.slice(0, 20).map((p) => quoted(p, QUOTE_LENGTH)) });
}

function refusedRequirement(p: string, policy: PackagePolicy): boolean {
  if (!p || p.length > MAX_REQUIREMENT_LENGTH || /[\0\n\r]/.test(p)) return true;
  if (p.startsWith("-")) return !policy.allowOptions;
  // The grammar allows blanks only as \s* or \s+ (or inside a quoted marker value), so a run of them means what one
  // blank means. Matching with runs cut to one leaves the regexes nothing to backtrack over: a requirement made of long
  // blank runs in the right places would otherwise take seconds to refuse (ReDoS).
  const shape = p.replace(/\s+/g, " ");
  if (REQUIREMENT.test(shape)) return !balancedParentheses(p);
  if (DIRECT_REFERENCE.test(shape) || LOCAL_OR_URL.test(shape)) return !policy.allowDirectReferences;
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
