// What a plugin needs from the machine, checked when it starts: a program that is missing becomes a /health warning
// naming the Debian package that provides it, instead of a feature that fails without a word later.
import { existsSync } from "node:fs";

export interface SystemRequirements {
  /** Programs the plugin runs, on the host or inside its sandboxes, each with the Debian package that provides it
   * (`{ xterm: "xterm", bwrap: "bubblewrap" }`). Installed by the set-up commands and checked at start. */
  programs?: Record<string, string>;
  /** Debian packages the plugin needs that provide no program of their own (fonts, data files). */
  apt?: string[];
  /** Extra Debian packages only its tests need. */
  testApt?: string[];
  /** Python packages installed with pip (for example `uv`). */
  pip?: string[];
}

/** Every Debian package the set-up must install for these requirements. */
export function debianPackages(req: SystemRequirements, withTests: boolean): string[] {
  const all = new Set([...Object.values(req.programs ?? {}), ...(req.apt ?? []), ...(withTests ? req.testApt ?? [] : [])]);
  return [...all].sort();
}

/** Directories searched for programs besides PATH (sandboxes and services see the sbin ones too). */
const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

function findProgram(program: string, path: string): boolean {
  if (program.startsWith("/")) return existsSync(program);
  if (Bun.which(program, { PATH: path })) return true;
  return SYSTEM_DIRS.some((dir) => existsSync(`${dir}/${program}`));
}

const installedCache = new Map<string, string[]>();

/** Debian packages (of `packages`) that dpkg does not list as installed; empty where there is no dpkg. Cached per
 * process: packages are installed by set-up, not while a server runs. */
export function uninstalledPackages(packages: string[]): string[] {
  if (packages.length === 0 || !Bun.which("dpkg-query")) return [];
  const key = packages.join(" ");
  const cached = installedCache.get(key);
  if (cached) return cached;
  const missing = queryUninstalled(packages);
  installedCache.set(key, missing);
  return missing;
}

function queryUninstalled(packages: string[]): string[] {
  const p = Bun.spawnSync(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", ...packages], { stdout: "pipe", stderr: "pipe" });
  const installed = new Set(
    p.stdout.toString().split("\n").filter((l) => l.endsWith(" installed")).map((l) => l.split(" ")[0]!.split(":")[0]!),
  );
  return packages.filter((pkg) => !installed.has(pkg));
}

/** One line naming what is missing and how to get it, or null when everything is there. */
export function missingSystemRequirements(req: SystemRequirements | undefined, path = process.env.PATH ?? ""): string | null {
  if (!req) return null;
  const missingPrograms = Object.entries(req.programs ?? {}).filter(([program]) => !findProgram(program, path));
  const missingPackages = uninstalledPackages(req.apt ?? []);
  if (missingPrograms.length === 0 && missingPackages.length === 0) return null;
  const packages = [...new Set([...missingPrograms.map(([, pkg]) => pkg), ...missingPackages])].sort();
  const parts = [
    ...missingPrograms.map(([program, pkg]) => `program ${program} (Debian package ${pkg}) is not installed`),
    ...missingPackages.map((pkg) => `Debian package ${pkg} is not installed`),
  ];
  return `${parts.join("; ")}. Install with: apt-get install ${packages.join(" ")} (or run \`bun run server\`'s set-up as root)`;
}
