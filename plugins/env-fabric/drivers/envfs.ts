// The envs on disk: ENVS_BASE_PATH/@<owner>/<workflow>/<node>/<version>/{pyproject.toml, uv.lock, .venv, bunker-env.json}.
// The owner is part of an env's identity: two users' (workflow, node, version) never meet on disk.
import { OPEN_MODE_USER, USER_ID_PATTERN } from "bunker/core";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync, type Dirent } from "node:fs";
import { join } from "node:path";
import type { EnvIds } from "../validate";

const META_FILE = "bunker-env.json";
/** Who owned the envs made before envs had owners: the open-mode user. */
const LEGACY_OWNER = OPEN_MODE_USER;
const USER_ID = new RegExp(USER_ID_PATTERN);

/** An env as the service addresses it: whose it is, and which (workflow, node, version). */
export interface EnvRef extends EnvIds {
  owner: string;
}

export interface EnvMeta extends EnvRef {
  python_version: string;
  created_at: string;
  created_by: string;
  last_used_at: string;
}

export const envKey = (ids: EnvIds) => `${ids.workflow_id}/${ids.node_id}/${ids.version_id}`;

/** "@" + the user id. Owners are user ids (USER_ID_PATTERN), so never "." or "..", and never a workflow id (those start
 * with a letter or digit): owner folders and the old layout's workflow folders cannot be confused. */
const ownerDirName = (owner: string) => "@" + owner;
const ownerRoot = (base: string, owner: string) => join(base, ownerDirName(owner));

export const envDir = (base: string, ref: EnvRef) => join(ownerRoot(base, ref.owner), ref.workflow_id, ref.node_id, ref.version_id);
/** Lock files sit beside the env (dot-names, which ids cannot take), so create can lock before the env exists. */
export const lockPath = (base: string, ref: EnvRef) => join(ownerRoot(base, ref.owner), ref.workflow_id, ref.node_id, `.${ref.version_id}.lock`);

/** The metadata of the env in `dir`, or null when it has none. Its `owner` is informational (the folder says whose
 * the env is); envs written before owners existed have none and get the legacy owner's. */
export function readMeta(dir: string): EnvMeta | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, META_FILE), "utf8")) as Partial<EnvMeta>;
    return { ...meta, owner: meta.owner ?? LEGACY_OWNER } as EnvMeta;
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

/** The entries of `dir`; none when it cannot be read (gone, or not a folder). */
const entries = (dir: string): Dirent[] => {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
};
const visible = (dir: string) => entries(dir).filter((d) => d.isDirectory() && !d.name.startsWith("."));

/** A node folder found on disk, with the owner and ids its path names. */
interface NodeDir {
  dir: string;
  owner: string;
  workflow_id: string;
  node_id: string;
}

/** Every node folder under the owner folders: only `owner`'s, and only within one workflow, when those are given. */
function* nodeDirs(base: string, filter: { owner?: string; workflowId?: string } = {}): Generator<NodeDir> {
  const owners = filter.owner !== undefined
    ? [filter.owner]
    : visible(base).filter((d) => d.name.startsWith("@")).map((d) => d.name.slice(1)).filter((owner) => USER_ID.test(owner));
  for (const owner of owners) {
    const root = ownerRoot(base, owner);
    const workflows = filter.workflowId !== undefined ? [filter.workflowId] : visible(root).map((d) => d.name);
    for (const workflow_id of workflows) {
      for (const node of visible(join(root, workflow_id))) yield { dir: join(root, workflow_id, node.name), owner, workflow_id, node_id: node.name };
    }
  }
}

/** An env on disk. `ref` (whose and which) comes from its path; the metadata's copies of them are informational. */
export interface EnvOnDisk {
  dir: string;
  ref: EnvRef;
  meta: EnvMeta;
}

/** Every env with a metadata file, optionally of one owner and within one workflow. */
export function listEnvDirs(base: string, filter: { owner?: string; workflowId?: string } = {}): EnvOnDisk[] {
  const found: EnvOnDisk[] = [];
  for (const node of nodeDirs(base, filter)) {
    for (const version of visible(node.dir)) {
      const dir = join(node.dir, version.name);
      const meta = readMeta(dir);
      if (meta) found.push({ dir, meta, ref: { owner: node.owner, workflow_id: node.workflow_id, node_id: node.node_id, version_id: version.name } });
    }
  }
  return found;
}

/** Half-built (`.<version>.tmp-…`) or half-deleted (`.<version>.deleting-…`) dirs a crashed server left behind. */
export function leftoverDirs(base: string, olderThanMs: number, owner?: string): string[] {
  const cutoff = Date.now() - olderThanMs;
  const found: string[] = [];
  for (const node of nodeDirs(base, { owner })) {
    for (const entry of entries(node.dir)) {
      if (!entry.isDirectory() || !/^\..+\.(tmp|deleting)-/.test(entry.name)) continue;
      const path = join(node.dir, entry.name);
      try {
        if (lstatSync(path).mtimeMs < cutoff) found.push(path);
      } catch {
        // removed meanwhile
      }
    }
  }
  return found;
}

/** Whether `dir` looks like a workflow folder of the layout before owners: node folders holding envs or their locks. */
function isLegacyWorkflowDir(dir: string): boolean {
  return visible(dir).some((node) =>
    entries(join(dir, node.name)).some(
      (e) => (e.isFile() && /^\..+\.lock$/.test(e.name)) || (e.isDirectory() && existsSync(join(dir, node.name, e.name, META_FILE))),
    ),
  );
}

/**
 * Moves the envs of the layout before owners (ENVS_BASE_PATH/<workflow>/…) under the legacy owner's folder, where they
 * belong now. Runs at start-up, before any request; a folder that is no workflow (a cache someone put here) stays, and
 * so does a workflow whose name the legacy owner's folder already has (`skipped`: someone must merge the two).
 */
export function migrateLegacyLayout(base: string): { moved: string[]; skipped: string[] } {
  const moved: string[] = [];
  const skipped: string[] = [];
  for (const entry of visible(base)) {
    if (entry.name.startsWith("@")) continue;
    const from = join(base, entry.name);
    if (!isLegacyWorkflowDir(from)) continue;
    const to = join(ownerRoot(base, LEGACY_OWNER), entry.name);
    if (existsSync(to)) {
      skipped.push(entry.name);
      continue;
    }
    mkdirSync(ownerRoot(base, LEGACY_OWNER), { recursive: true });
    renameSync(from, to);
    moved.push(entry.name);
  }
  return { moved, skipped };
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
function projectName(ids: EnvIds): string {
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
