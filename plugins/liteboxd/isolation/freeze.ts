// Pause and resume of a whole sandbox tree: the cgroup freezer where the host lets us make a group (v1 `freezer`
// controller, or v2 `cgroup.freeze` in the sandbox's own group), SIGSTOP/SIGCONT to every process otherwise.
// Memory stays as it is either way; only scheduling stops.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FREEZER_V1 = "/sys/fs/cgroup/freezer";
let swept = false;

/** Removes empty freezer groups that an earlier process left (it exited before their removal finished). */
function sweepStale(parent: string) {
  if (swept) return;
  swept = true;
  try {
    for (const name of readdirSync(parent)) {
      const dir = join(parent, name);
      try {
        if (!statSync(dir).isDirectory() || Date.now() - statSync(dir).ctimeMs < 60_000) continue;
        if (readFileSync(join(dir, "cgroup.procs"), "utf8").trim() === "") rmdirSync(dir);
      } catch {
        /* busy or gone */
      }
    }
  } catch {
    /* no parent */
  }
}

/** Every process whose ancestry leads to `root` (root included), read from /proc. */
export function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}

export interface Freezer {
  /** Stops every process of the tree; returns how ("cgroup freezer" or "SIGSTOP"). */
  freeze(): Promise<string>;
  thaw(): void;
  /** Removes the freezer group (after the tree has exited). */
  remove(): void;
}

/** A freezer for the process tree under `rootPid` (plus `extraPids()`, e.g. the members of the sandbox's pids group). */
export function createFreezer(id: string, rootPid: number, extraPids: () => number[]): Freezer {
  let group: string | undefined;
  let mode: "cgroup" | "signal" | undefined;
  const members = () => [...new Set([...treePids(rootPid), ...extraPids()])];

  const makeGroup = (): string | undefined => {
    if (!existsSync(join(FREEZER_V1, "freezer.state")) && !existsSync(join(FREEZER_V1, "cgroup.procs"))) return undefined;
    const dir = join(FREEZER_V1, "bunker", id);
    try {
      mkdirSync(dir, { recursive: true });
      sweepStale(join(FREEZER_V1, "bunker"));
      return existsSync(join(dir, "freezer.state")) ? dir : undefined;
    } catch {
      return undefined;
    }
  };

  const signalAll = (signal: NodeJS.Signals) => {
    // Twice: a process forked while the first round was on its way is caught by the second.
    for (let round = 0; round < 2; round++) {
      for (const pid of members()) {
        try {
          process.kill(pid, signal);
        } catch {
          /* gone */
        }
      }
    }
  };

  return {
    async freeze() {
      group ??= makeGroup();
      if (group) {
        // Move the whole tree in (children forked later inherit the group), then freeze and wait until it is.
        let moved = true;
        for (let round = 0; round < 2 && moved; round++) {
          for (const pid of members()) if (!tryWrite(join(group, "cgroup.procs"), String(pid)) && existsSync(`/proc/${pid}`)) moved = false;
        }
        if (moved && tryWrite(join(group, "freezer.state"), "FROZEN")) {
          const deadline = Date.now() + 2000;
          while (Date.now() < deadline) {
            if (readFileSync(join(group, "freezer.state"), "utf8").trim() === "FROZEN") break;
            await Bun.sleep(5);
          }
          mode = "cgroup";
          return "cgroup freezer";
        }
      }
      signalAll("SIGSTOP");
      mode = "signal";
      return "SIGSTOP to every process";
    },
    thaw() {
      if (mode === "cgroup" && group) tryWrite(join(group, "freezer.state"), "THAWED");
      else if (mode === "signal") signalAll("SIGCONT");
      mode = undefined;
    },
    remove() {
      if (!group) return;
      tryWrite(join(group, "freezer.state"), "THAWED");
      const dir = group;
      group = undefined;
      // The kernel empties the group once its processes are reaped; retry briefly.
      void (async () => {
        for (let i = 0; i < 50; i++) {
          if (i > 0) await Bun.sleep(100);
          try {
            rmdirSync(dir);
            return;
          } catch {
            /* not empty yet */
          }
        }
      })();
    },
  };
}
