// The envs on disk: ENVS_BASE_PATH/<workflow>/<node>/<version>/{pyproject.toml, uv.lock, .venv, bunker-env.json}.
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EnvIds } from "../validate";

export const META_FILE = "bunker-env.json";

export interface EnvMeta extends EnvIds {
  python_version: string;
  created_at: string;
  created_by: string;
  last_used_at: string;
}

export const envKey = (ids: EnvIds) => `${ids.workflow_id}/${ids.node_id}/${ids.version_id}`;
export const envDir = (base: string, ids: EnvIds) => join(base, ids.workflow_id, ids.node_id, ids.version_id);
/** Lock files sit beside the env (dot-names, which ids cannot take), so create can lock before the env exists. */
export const lockPath = (base: string, ids: EnvIds) => join(base, ids.workflow_id, ids.node_id, `.${ids.version_id}.lock`);

export function readMeta(dir: string): EnvMeta | null {
  try {
    return JSON.parse(readFileSync(join(dir, META_FILE), "utf8")) as EnvMeta;
  } catch {
    return null;
  }
}

/** Atomic rewrite, so concurrent runs touching last_used_at never leave a torn file. */
export function writeMeta(dir: string, meta: EnvMeta): void {
  const tmp = join(dir, `.${META_FILE}.${process.pid}.${crypto.randomUUID()}`);
  writeFileSync(tmp, JSON.stringify(meta, null, 2));
  renameSync(tmp, join(dir, META_FILE));
}

const visible = (dir: string) => {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith("."));
  } catch {
    return [];
  }
};

/** Every env with a metadata file, optionally within one workflow. */
export function listEnvDirs(base: string, workflowId?: string): Array<{ dir: string; meta: EnvMeta }> {
  const found: Array<{ dir: string; meta: EnvMeta }> = [];
  const workflows = workflowId ? [workflowId] : visible(base).map((d) => d.name);
  for (const wf of workflows) {
    for (const node of visible(join(base, wf))) {
      for (const version of visible(join(base, wf, node.name))) {
        const dir = join(base, wf, node.name, version.name);
        const meta = readMeta(dir);
        if (meta) found.push({ dir, meta });
      }
    }
  }
  return found;
}

/** Half-built (`.<version>.tmp-…`) or half-deleted (`.<version>.deleting-…`) dirs a crashed server left behind. */
export function leftoverDirs(base: string, olderThanMs: number): string[] {
  const cutoff = Date.now() - olderThanMs;
  const found: string[] = [];
  for (const wf of visible(base)) {
    for (const node of visible(join(base, wf.name))) {
      const nodeDir = join(base, wf.name, node.name);
      for (const entry of readdirSync(nodeDir, { withFileTypes: true })) {
        if (!entry.isDirectory() || !/^\..+\.(tmp|deleting)-/.test(entry.name)) continue;
        const path = join(nodeDir, entry.name);
        if (lstatSync(path).mtimeMs < cutoff) found.push(path);
      }
    }
  }
  return found;
}

/** Bytes on disk (allocated blocks), each inode counted once: hardlinks from the uv cache are not double-counted. */
export function diskUsage(root: string): number {
  const seen = new Set<string>();
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      const path = join(dir, name);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += st.blocks * 512;
      if (st.isDirectory()) stack.push(path);
    }
  }
  return total;
}

/** Distributions really installed in the env's .venv (their .dist-info folders). */
export function installedDistributions(dir: string): string[] {
  const lib = join(dir, ".venv", "lib");
  if (!existsSync(lib)) return [];
  const names: string[] = [];
  for (const py of readdirSync(lib)) {
    const site = join(lib, py, "site-packages");
    if (!existsSync(site)) continue;
    for (const entry of readdirSync(site)) if (entry.endsWith(".dist-info")) names.push(entry.replace(/\.dist-info$/, ""));
  }
  return names.sort();
}

interface LockFile {
  package?: Array<{ name: string; version?: string; source?: Record<string, unknown> }>;
}

/** name → version from uv.lock, without the project's own (virtual or editable) entry. */
export function lockedVersions(lockText: string): Record<string, string> {
  const lock = Bun.TOML.parse(lockText) as LockFile;
  const out: Record<string, string> = {};
  for (const pkg of lock.package ?? []) {
    const source = pkg.source ?? {};
    if ("virtual" in source || "editable" in source) continue;
    if (pkg.version !== undefined) out[pkg.name] = pkg.version;
  }
  return out;
}

export function declaredDependencies(pyprojectText: string): string[] {
  const doc = Bun.TOML.parse(pyprojectText) as { project?: { dependencies?: string[] } };
  return doc.project?.dependencies ?? [];
}

/** A name uv accepts for the project: the TRD's "<workflow>-<node>", normalised. */
export function projectName(ids: EnvIds): string {
  const name = `${ids.workflow_id}-${ids.node_id}`.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return name || "env";
}

export function pyprojectText(ids: EnvIds, pythonVersion: string): string {
  const minor = pythonVersion.split(".").slice(0, 2).join(".");
  return `[project]
name = "${projectName(ids)}"
version = "0.1.0"
description = "Bunker env-fabric environment for workflow ${ids.workflow_id}, node ${ids.node_id}, version ${ids.version_id}"
requires-python = ">=${minor}"
dependencies = []
`;
}

/** The base interpreter's prefix (from .venv/pyvenv.cfg "home"), mounted into sandboxes next to the env. */
export function basePythonPrefix(dir: string): string | null {
  try {
    const cfg = readFileSync(join(dir, ".venv", "pyvenv.cfg"), "utf8");
    const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
    return home ? join(home, "..") : null;
  } catch {
    return null;
  }
}
