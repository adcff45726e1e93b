// Builds the argv that starts a sandbox: a launcher that joins the cgroups, rlimits, a drop to an unprivileged host uid,
// then bubblewrap with every namespace unshared and the host root read-only with its secrets masked.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SANDBOX_BIN_DIR, SANDBOX_BUN, SANDBOX_PATH, type IsolatedSpawnSpec } from "bunker/core";

/** PATH for the host-side programs that start a sandbox (setpriv, prlimit, bwrap). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The host's root as a sandbox sees it is an allow-list: the system directories programs run from, and nothing
 * else of the host (no /opt, /srv, /home, /work, checkouts or any other top-level directory). */
const HOST_SYSTEM_DIRS = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];
/** What of the host's /etc programs need to run, resolve names, verify TLS, find fonts and MIME types. Left out on
 * purpose: shadow files, sudoers, ssh, package-manager credentials (pip.conf, npmrc, apt auth), gitconfig, the host's
 * name and its users (passwd, group and hosts are synthetic, see `syntheticEtc`). */
const HOST_ETC_ALLOWED = [
  "alternatives", "bash.bashrc", "ca-certificates", "ca-certificates.conf", "debian_version", "environment", "fonts",
  "gai.conf", "host.conf", "inputrc", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "locale.alias", "localtime",
  "magic", "magic.mime", "mailcap", "mailcap.order", "mime.types", "networks", "nsswitch.conf", "os-release", "profile",
  "protocols", "rpc", "services", "shells", "ssl", "terminfo", "timezone", "xdg", "X11", "gtk-2.0", "gtk-3.0",
];
/** /etc entries matched by prefix: each Python version's site configuration. */
const HOST_ETC_PREFIXES = ["python3"];
/** Nested paths inside allowed directories that still hold secrets. */
const MASKED_DIRS = ["/etc/ssl/private", "/sys/fs/cgroup", "/sys/firmware", "/sys/kernel/security", "/sys/kernel/debug"];
/** Empty directories a conventional root has (HOME of tools that ignore $HOME, runtime dirs). */
const EMPTY_DIRS = ["/home", "/root", "/run", "/var", "/mnt", "/opt", "/srv"];

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
 * remounted read-only at the end. For the host, only the allow-list above is bound; `etcDir` holds the synthetic
 * passwd, group and hosts. A rootfs directory is its own tree and is bound whole. */
export function buildRootArgs(rootDir: string, maskPaths: string[], emptyFile: string, etcDir?: string): string[] {
  if (resolve(rootDir) !== "/") return buildImageRootArgs(rootDir);
  const args: string[] = [];
  const bindEntry = (src: string, dest: string) => {
    const k = kind(src);
    if (k === "link") args.push("--symlink", readlinkSync(src), dest);
    else if (k !== "missing") args.push("--ro-bind", src, dest);
  };
  for (const name of HOST_SYSTEM_DIRS) bindEntry(`/${name}`, `/${name}`);
  args.push("--dir", "/etc");
  for (const name of readdirSync("/etc").sort()) {
    if (HOST_ETC_ALLOWED.includes(name) || HOST_ETC_PREFIXES.some((p) => name.startsWith(p))) bindEntry(`/etc/${name}`, `/etc/${name}`);
  }
  if (etcDir) for (const name of ["passwd", "group", "hosts"]) args.push("--ro-bind", join(etcDir, name), `/etc/${name}`);
  if (existsSync("/sys")) args.push("--ro-bind", "/sys", "/sys");
  for (const dir of EMPTY_DIRS) args.push("--dir", dir);
  args.push("--symlink", "../tmp", "/var/tmp");
  for (const path of [...MASKED_DIRS, ...maskPaths]) {
    if (!isUnder(path, ["/etc", "/sys", ...HOST_SYSTEM_DIRS.map((d) => `/${d}`)])) continue;
    const k = kind(path);
    if (k === "dir") args.push("--tmpfs", path);
    else if (k === "file") args.push("--ro-bind", emptyFile, path);
  }
  return args;
}

function buildImageRootArgs(rootDir: string): string[] {
  const args: string[] = [];
  for (const name of readdirSync(rootDir).sort()) {
    if (["proc", "dev", "tmp", "sys"].includes(name)) continue;
    const src = resolve(rootDir, name);
    const k = kind(src);
    if (k === "link") args.push("--symlink", readlinkSync(src), `/${name}`);
    else if (k === "dir") args.push("--ro-bind", src, `/${name}`);
    // Top-level regular files of an image are left out, as bwrap cannot create file mount points on its root.
  }
  return args;
}

/** The passwd, group and hosts a sandbox sees: root, the sandbox user and nobody; no host users or host names. */
export function syntheticEtc(dir: string, uid: number, gid: number): void {
  const users = [`root:x:0:0:root:/root:/bin/sh`, uid === 65534 ? "" : `sandbox:x:${uid}:${gid}:sandbox:/workspace:/bin/sh`, `nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin`];
  const groups = [`root:x:0:`, gid === 65534 ? "" : `sandbox:x:${gid}:`, `nogroup:x:65534:`];
  writeFileSync(join(dir, "passwd"), users.filter(Boolean).join("\n") + "\n", { mode: 0o444 });
  writeFileSync(join(dir, "group"), groups.filter(Boolean).join("\n") + "\n", { mode: 0o444 });
  writeFileSync(join(dir, "hosts"), "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost ip6-loopback\n", { mode: 0o444 });
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
  /** A host path of the server's Bun binary, readable by the sandbox uid, bound read-only at SANDBOX_BUN. */
  bunBinary?: string;
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
  for (const e of entries.sort((a, b) => a.at.length - b.at.length)) args.push(...e.args);
  if (opts.bunBinary) args.push("--ro-bind", opts.bunBinary, SANDBOX_BUN, "--symlink", "bun", `${SANDBOX_BIN_DIR}/bunx`);
  if (spec.network && opts.resolvConf && opts.resolvConf !== "/etc/resolv.conf") {
    args.push("--ro-bind", opts.resolvConf, opts.netMode === "slirp" ? "/etc/resolv.conf" : opts.resolvConf);
  }
  args.push("--remount-ro", "/");
  const hasWorkspace = mounts.some((m) => m.sandbox === "/workspace");
  args.push("--chdir", spec.cwd ?? (hasWorkspace ? "/workspace" : "/"));
  args.push("--clearenv");
  const env: Record<string, string> = {
    PATH: SANDBOX_PATH,
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
