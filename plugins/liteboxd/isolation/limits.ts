// Resource limits for one sandbox: a per-sandbox cgroup (v1 or v2) where the host lets us write one, rlimits otherwise.
// Whatever cannot be enforced is returned in `unenforced`, never dropped silently.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IsolationLimits } from "bunker/core";

type Controller = "memory" | "cpu" | "pids";
const CONTROLLERS: Controller[] = ["memory", "cpu", "pids"];
const CGROUP_ROOT = "/sys/fs/cgroup";

/** Where each controller lets us create sandbox groups (null when it does not). Probed once per process. */
export interface CgroupLayout {
  version: 1 | 2 | 0;
  parents: Partial<Record<Controller, string>>;
  reasons: Partial<Record<Controller, string>>;
}

let cachedLayout: CgroupLayout | undefined;

function ownCgroupPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  try {
    for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
      const [, controllers, path] = line.split(":") as [string, string?, string?];
      if (controllers === undefined || path === undefined) continue;
      for (const c of controllers.split(",")) paths.set(c, path);
    }
  } catch {
    /* no /proc/self/cgroup: no cgroups */
  }
  return paths;
}

function tryMakeParent(candidates: string[], probeFile: string): string | undefined {
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      const probe = join(dir, `probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
      mkdirSync(probe);
      const ok = existsSync(join(probe, probeFile));
      rmdirSync(probe);
      if (ok) return dir;
    } catch {
      /* not writable here: try the next place */
    }
  }
  return undefined;
}

/** Finds, once, a writable parent group per controller: first under our own group (so the server's limits still
 * cover its sandboxes), then at the hierarchy's root. */
export function probeCgroups(groupName = "bunker"): CgroupLayout {
  if (cachedLayout) return cachedLayout;
  const own = ownCgroupPaths();
  const layout: CgroupLayout = { version: 0, parents: {}, reasons: {} };
  const isV2 = existsSync(join(CGROUP_ROOT, "cgroup.controllers"));
  if (isV2) {
    layout.version = 2;
    const ownPath = own.get("") ?? "/";
    const enabled = safeRead(join(CGROUP_ROOT, ownPath, "cgroup.subtree_control")) ?? "";
    const files: Record<Controller, string> = { memory: "memory.max", cpu: "cpu.max", pids: "pids.max" };
    for (const c of CONTROLLERS) {
      const parent = enabled.includes(c) ? tryMakeParent([join(CGROUP_ROOT, ownPath, groupName)], files[c]) : undefined;
      if (parent) layout.parents[c] = parent;
      else layout.reasons[c] = `cgroup v2 controller "${c}" is not delegated to ${join(CGROUP_ROOT, ownPath)}`;
    }
  } else {
    layout.version = 1;
    const files: Record<Controller, string> = { memory: "memory.limit_in_bytes", cpu: "cpu.cfs_quota_us", pids: "pids.max" };
    for (const c of CONTROLLERS) {
      const mount = join(CGROUP_ROOT, c);
      if (!existsSync(join(mount, "cgroup.procs"))) {
        layout.reasons[c] = `cgroup v1 controller "${c}" is not mounted at ${mount}`;
        continue;
      }
      const ownPath = own.get(c) ?? "/";
      const candidates = [...new Set([join(mount, ownPath, groupName), join(mount, groupName)])];
      const parent = tryMakeParent(candidates, files[c]);
      if (parent) layout.parents[c] = parent;
      else layout.reasons[c] = `cannot create a group under ${candidates.join(" or ")} (read-only or no permission)`;
    }
  }
  cachedLayout = layout;
  for (const parent of new Set(Object.values(layout.parents))) sweepStaleGroups(parent);
  return layout;
}

/** Removes empty sandbox groups that an earlier process left behind (it exited before their removal finished).
 * Only groups older than a minute: a fresh empty one may belong to a sandbox another server is starting. */
function sweepStaleGroups(parent: string, minAgeMs = 60_000): void {
  try {
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(parent, entry.name);
      try {
        if (Date.now() - statSync(dir).ctimeMs < minAgeMs) continue;
        if ((safeRead(join(dir, "cgroup.procs")) ?? "x").trim() === "") rmdirSync(dir);
      } catch {
        /* busy or gone: leave it */
      }
    }
  } catch {
    /* parent unreadable */
  }
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The cgroups of one sandbox: the files to write its first pid into, and how to kill and remove it. */
export interface SandboxCgroups {
  /** `cgroup.procs` files the launcher writes its own pid into before exec'ing bwrap. */
  procsFiles: string[];
  /** prlimit options for limits no cgroup could take (e.g. `--as=…`, `--nproc=…`). */
  rlimitArgs: string[];
  unenforced: string[];
  /** Pids currently in the sandbox's group (empty without any cgroup). */
  pids(): number[];
  /** SIGKILL every process in the group. */
  killAll(): void;
  /** Removes the groups (after the processes are gone); retries briefly while the kernel reaps. */
  remove(): Promise<void>;
  /** Changes the limits of a running sandbox (only in groups made at creation); returns what could not be set. */
  update(limits: IsolationLimits): string[];
}

function write(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}

/** Creates the per-sandbox groups for `limits` (a pids group is always made when possible, to track the whole tree). */
export function createSandboxCgroups(id: string, limits: IsolationLimits = {}, layout = probeCgroups()): SandboxCgroups {
  const dirs: string[] = [];
  const rlimitArgs: string[] = [];
  const unenforced: string[] = [];
  const v2 = layout.version === 2;

  const makeGroup = (c: Controller): string | undefined => {
    const parent = layout.parents[c];
    if (!parent) return undefined;
    const dir = join(parent, id);
    if (dirs.includes(dir)) return dir;
    try {
      mkdirSync(dir);
      dirs.push(dir);
      return dir;
    } catch {
      return undefined;
    }
  };

  if (limits.memoryMb !== undefined) {
    const bytes = String(Math.floor(limits.memoryMb * 1024 * 1024));
    const dir = makeGroup("memory");
    const ok = dir !== undefined && (v2
      ? write(join(dir, "memory.max"), bytes) && (write(join(dir, "memory.swap.max"), "0") || true)
      : write(join(dir, "memory.limit_in_bytes"), bytes) && (write(join(dir, "memory.memsw.limit_in_bytes"), bytes) || true));
    if (!ok) {
      rlimitArgs.push(`--as=${bytes}`);
      unenforced.push(`memory: ${layout.reasons.memory ?? "cgroup limit not writable"}; only a per-process address-space rlimit (RLIMIT_AS) applies`);
    }
  }
  if (limits.cpus !== undefined) {
    const period = 100_000;
    const quota = Math.max(1000, Math.round(limits.cpus * period));
    const dir = makeGroup("cpu");
    const ok = dir !== undefined && (v2
      ? write(join(dir, "cpu.max"), `${quota} ${period}`)
      : write(join(dir, "cpu.cfs_period_us"), String(period)) && write(join(dir, "cpu.cfs_quota_us"), String(quota)));
    if (!ok) unenforced.push(`cpu: ${layout.reasons.cpu ?? "cgroup quota not writable"}; no CPU limit applies`);
  }
  const pidsDir = makeGroup("pids");
  if (limits.pids !== undefined) {
    const ok = pidsDir !== undefined && write(join(pidsDir, "pids.max"), String(limits.pids));
    if (!ok) {
      rlimitArgs.push(`--nproc=${limits.pids}`);
      unenforced.push(`pids: ${layout.reasons.pids ?? "cgroup limit not writable"}; only RLIMIT_NPROC (counted per uid) applies`);
    }
  }

  const update = (next: IsolationLimits): string[] => {
    const failed: string[] = [];
    const groupOf = (c: Controller) => (layout.parents[c] ? dirs.find((d) => d.startsWith(layout.parents[c]!)) : undefined);
    if (next.memoryMb !== undefined) {
      const dir = groupOf("memory");
      const bytes = String(Math.floor(next.memoryMb * 1024 * 1024));
      // v1 wants memsw >= limit at every step: lowering sets the limit first, raising the memsw first.
      const ok = dir !== undefined && (v2
        ? write(join(dir, "memory.max"), bytes)
        : (write(join(dir, "memory.limit_in_bytes"), bytes) && (write(join(dir, "memory.memsw.limit_in_bytes"), bytes) || true)) ||
          (write(join(dir, "memory.memsw.limit_in_bytes"), bytes) && write(join(dir, "memory.limit_in_bytes"), bytes)));
      if (!ok) failed.push("memory: the sandbox's memory group is missing or refused the new limit");
    }
    if (next.cpus !== undefined) {
      const dir = groupOf("cpu");
      const quota = Math.max(1000, Math.round(next.cpus * 100_000));
      const ok = dir !== undefined && (v2 ? write(join(dir, "cpu.max"), `${quota} 100000`) : write(join(dir, "cpu.cfs_quota_us"), String(quota)));
      if (!ok) failed.push("cpu: the sandbox's cpu group is missing or refused the new quota");
    }
    if (next.pids !== undefined) {
      const ok = pidsDir !== undefined && write(join(pidsDir, "pids.max"), String(next.pids));
      if (!ok) failed.push("pids: the sandbox's pids group is missing or refused the new limit");
    }
    return failed;
  };

  const procsFiles = dirs.map((d) => join(d, "cgroup.procs"));
  const trackDir = pidsDir ?? dirs[0];
  const pids = (): number[] => {
    if (!trackDir) return [];
    const text = safeRead(join(trackDir, "cgroup.procs")) ?? "";
    return text.split("\n").filter(Boolean).map(Number);
  };
  const killAll = () => {
    if (v2 && trackDir && write(join(trackDir, "cgroup.kill"), "1")) return;
    for (const pid of pids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  const remove = async () => {
    for (const dir of dirs) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === "ENOENT" || attempt >= 60) break;
          killAll();
          await Bun.sleep(Math.min(2 ** attempt, 50));
        }
      }
    }
  };
  return { procsFiles, rlimitArgs, unenforced, pids, killAll, remove, update };
}
