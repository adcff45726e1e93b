// Builds the argv that starts a sandbox: a launcher that joins the cgroups, rlimits, a drop to an unprivileged host uid,
// then bubblewrap with every namespace unshared and the host root read-only with its secrets masked.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import type { IsolatedSpawnSpec } from "bunker/core";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Top-level host directories that are replaced by an empty tmpfs: homes, runtime state, removable media. */
const MASKED_TOP = new Set(["root", "home", "run", "mnt", "media", "srv", "boot", "lost+found", "old_root"]);
/** Top-level entries that the sandbox gets fresh (proc, dev, tmp) or not at all. */
const SKIPPED_TOP = new Set(["proc", "dev", "tmp", "sys"]);
/** Nested directories whose content is host state or secrets. */
const MASKED_DIRS = [
  "/var/lib", "/var/log", "/var/spool", "/var/mail", "/var/backups", "/var/tmp", "/var/run",
  "/etc/ssl/private", "/etc/ssh", "/etc/sudoers.d",
  "/sys/fs/cgroup", "/sys/firmware", "/sys/kernel/security", "/sys/kernel/debug",
];
/** Files replaced by an empty file. */
const MASKED_FILES = ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers", "/etc/security/opasswd"];

export interface RootLayout {
  /** bwrap arguments that build the root (binds, symlinks, masks). */
  args: string[];
}

function kind(path: string): "dir" | "file" | "link" | "missing" {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return "link";
    return st.isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/** The bwrap arguments that make `rootDir` (the host's "/" or a rootfs directory) the read-only root. Entries are
 * bound one by one onto bwrap's own tmpfs root, so mount points such as /workspace can be created, and the root is
 * remounted read-only at the end (see `finalArgs`). */
export function buildRootArgs(rootDir: string, maskPaths: string[], emptyFile: string): string[] {
  const args: string[] = [];
  const isHost = resolve(rootDir) === "/";
  for (const name of readdirSync(rootDir).sort()) {
    const src = resolve(rootDir, name);
    const dest = `/${name}`;
    const k = kind(src);
    if (SKIPPED_TOP.has(name) && name !== "sys") continue;
    if (k === "link") {
      args.push("--symlink", readlinkSync(src), dest);
    } else if (k === "dir") {
      if (name === "sys") {
        if (isHost) args.push("--ro-bind", "/sys", "/sys");
        continue;
      }
      if (isHost && MASKED_TOP.has(name)) args.push("--tmpfs", dest);
      else args.push("--ro-bind", src, dest);
    }
    // Top-level regular files (/.dockerenv, installer leftovers) are host details: left out.
  }
  // A rootfs directory is its own tree: the host's secrets are not in it, so only the host root needs masks.
  const masks = isHost ? [...MASKED_DIRS, ...MASKED_FILES, ...maskPaths] : [];
  for (const path of masks) {
    if (isUnder(path, ["/tmp", "/proc", "/dev"]) || [...MASKED_TOP].some((t) => isUnder(path, [`/${t}`]))) continue;
    const k = kind(path);
    if (k === "dir") args.push("--tmpfs", path);
    else if (k === "file") args.push("--ro-bind", emptyFile, path);
  }
  return args;
}

function isUnder(path: string, roots: string[]): boolean {
  return roots.some((r) => path === r || path.startsWith(`${r}/`));
}

export interface BwrapArgsOptions {
  rootArgs: string[];
  uid: number;
  gid: number;
  /** How `network: true` is provided: its own namespace wired to slirp4netns (the command waits on fd 3 until the
   * network is up), or the host's namespace shared (when slirp4netns is missing). */
  netMode?: "slirp" | "share";
  /** The resolv.conf bound at /etc/resolv.conf: slirp's DNS, or the host's real file (often a link into masked /run). */
  resolvConf?: string;
  tmpfsSizeBytes?: number;
  /** `installDirArgs` output: a bind of the checkout (its target at index 2) and masks inside it, placed among the
   * spec's mounts by path depth. */
  baseMounts?: string[];
}

/** The bwrap arguments (without the program) for one spec. */
export function buildBwrapArgs(spec: IsolatedSpawnSpec, opts: BwrapArgsOptions): string[] {
  const args = [
    "--unshare-all", "--unshare-user", "--disable-userns",
    "--die-with-parent", "--new-session", "--cap-drop", "ALL",
    "--uid", String(opts.uid), "--gid", String(opts.gid),
    "--hostname", spec.hostname ?? "sandbox",
  ];
  if (spec.network && opts.netMode === "share") args.push("--share-net");
  if (spec.network && opts.netMode === "slirp") args.push("--block-fd", "3");
  args.push(...opts.rootArgs);
  args.push("--proc", "/proc", "--dev", "/dev");
  const mounts = spec.mounts ?? [];
  if (!mounts.some((m) => m.sandbox === "/tmp")) {
    if (opts.tmpfsSizeBytes) args.push("--size", String(opts.tmpfsSizeBytes));
    args.push("--tmpfs", "/tmp");
  }
  // Parents before children, so a mount inside another mount (the checkout inside a writable /tmp) lands on top of it.
  const entries = mounts.map((m) => {
    if (!m.host.startsWith("/") || !m.sandbox.startsWith("/")) throw new Error(`mount paths must be absolute: ${m.host} -> ${m.sandbox}`);
    return { at: m.sandbox, args: [m.writable ? "--bind" : "--ro-bind", m.host, m.sandbox] };
  });
  if (opts.baseMounts?.length) entries.push({ at: opts.baseMounts[2]!, args: opts.baseMounts });
  for (const e of entries.sort((a, b) => a.at.length - b.at.length)) args.push(...e.args);
  if (spec.network && opts.resolvConf && opts.resolvConf !== "/etc/resolv.conf") {
    args.push("--ro-bind", opts.resolvConf, opts.netMode === "slirp" ? "/etc/resolv.conf" : opts.resolvConf);
  }
  args.push("--remount-ro", "/");
  const hasWorkspace = mounts.some((m) => m.sandbox === "/workspace");
  args.push("--chdir", spec.cwd ?? (hasWorkspace ? "/workspace" : "/"));
  args.push("--clearenv");
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: hasWorkspace ? "/workspace" : "/tmp",
    LANG: "C.UTF-8",
    USER: "sandbox",
    ...spec.env,
  };
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name: ${k}`);
    args.push("--setenv", k, v);
  }
  return args;
}

/** A fixed launcher script (no input is ever interpolated into it): writes its own pid into each cgroup.procs file
 * given before `--`, then execs the rest of its arguments. */
export const CGROUP_LAUNCHER = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

export interface LauncherOptions {
  procsFiles: string[];
  rlimitArgs: string[];
  uid: number;
  gid: number;
  bwrapPath: string;
}

/** The full argv: launcher → prlimit (if needed) → setpriv (drop to the sandbox uid on the host too) → bwrap. */
export function buildLauncherArgv(bwrapArgs: string[], program: string[], opts: LauncherOptions): string[] {
  const argv: string[] = [];
  if (opts.procsFiles.length > 0) argv.push("/bin/sh", "-c", CGROUP_LAUNCHER, "bunker-sandbox", ...opts.procsFiles, "--");
  if (opts.rlimitArgs.length > 0) argv.push("prlimit", ...opts.rlimitArgs, "--");
  argv.push("setpriv", "--reuid", String(opts.uid), "--regid", String(opts.gid), "--clear-groups", "--");
  argv.push(opts.bwrapPath, ...bwrapArgs, "--", ...program);
  return argv;
}

/** Where /etc/resolv.conf really lives on the host (it is often a link into /run, which is masked). */
export function hostResolvConf(): string | undefined {
  try {
    const real = realpathSync("/etc/resolv.conf");
    return existsSync(real) ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the host root as a sandbox sees `path`: /tmp is private and homes and runtime state are masked. */
export function hiddenFromHostRoot(path: string): boolean {
  const top = path.split("/")[1] ?? "";
  return top === "tmp" || MASKED_TOP.has(top) || MASKED_DIRS.some((d) => path === d || path.startsWith(`${d}/`));
}

/** Plugins run Bunker's own code (workers, agents linked to this checkout) inside sandboxes, so a checkout that the
 * host-root view hides (a clone under /tmp or /root) is bound back read-only, with the secret paths inside it
 * (the data directory) masked again. */
export function installDirArgs(installDir: string, maskPaths: string[], emptyFile: string): string[] {
  if (!hiddenFromHostRoot(installDir)) return [];
  const args = ["--ro-bind", installDir, installDir];
  for (const path of maskPaths) {
    if (!isUnder(path, [installDir])) continue;
    const k = kind(path);
    if (k === "dir") args.push("--tmpfs", path);
    else if (k === "file") args.push("--ro-bind", emptyFile, path);
  }
  return args;
}
