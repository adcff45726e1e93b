// Reading an agent project from the server's disk without trusting it. The server runs as root, so every read is
// checked: a file is opened without following a final symlink (O_NOFOLLOW) and without blocking (a fifo must not
// hang the deploy), must be a regular file, and must really lie inside the project: the check is made on the open
// descriptor (/proc/self/fd), so a path component swapped for a symlink between the look and the open is still caught.
// A symlink that stays inside the project is read as its target; one that leaves it is refused, naming the entry.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { errors } from "./errors";
import { SKIPPED } from "./skipped";

export interface ProjectFile {
  /** Relative to the project root, "/"-separated. */
  path: string;
  bytes: Uint8Array;
}

const skipped = new Set(SKIPPED);

/** Takes each file's size before the file is read (and memory for it allocated); throws to refuse it. */
export interface ByteBudget {
  take(bytes: number): void;
}

export interface ProjectLimits {
  maxBytes: number;
  maxFiles: number;
}

/** Whether real (a resolved path) is root or below it; root is a realpath. */
export function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root === "/" ? "/" : `${root}/`);
}

const refused = (rel: string, reason: string) => errors.PROJECT_FILE_REFUSED(`${rel}: ${reason}`, { file: rel, reason });

/** The path the kernel opened for fd (race-free, unlike a realpath taken before the open). */
const openedPath = (fd: number) => readlinkSync(`/proc/self/fd/${fd}`);

/** The real path of rel inside root (following symlinks that stay inside); undefined when it does not exist. */
export function resolveInside(root: string, rel: string): string | undefined {
  const path = join(root, rel);
  if (!lstatSync(path, { throwIfNoEntry: false })) return undefined;
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined; // a dangling symlink
  }
  if (!isInside(root, real)) throw refused(rel, "a symbolic link that leaves the project");
  return real;
}

/** Reads one regular file of the project (rel relative to root) within budget; undefined when it does not exist. */
export function readProjectFile(root: string, rel: string, budget: ByteBudget): Uint8Array | undefined {
  const real = resolveInside(root, rel);
  if (!real) return undefined;
  // Refused before the open: opening a device can act on it.
  if (!lstatSync(real).isFile()) throw refused(rel, "not a regular file");
  return readRegularFile(root, rel, real, budget);
}

/** Reads rel, whose real path inside root (resolveInside) is real, found a regular file a moment ago: the checks
 * that matter are made again on the open descriptor. */
function readRegularFile(root: string, rel: string, real: string, budget: ByteBudget): Uint8Array {
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw refused(rel, "a symbolic link that leaves the project");
    throw error;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refused(rel, "not a regular file");
    if (!isInside(root, openedPath(fd))) throw refused(rel, "a symbolic link that leaves the project");
    budget.take(st.size);
    const bytes = new Uint8Array(st.size);
    let offset = 0;
    while (offset < bytes.byteLength) {
      const n = readSync(fd, bytes, offset, bytes.byteLength - offset, null);
      if (n === 0) break;
      offset += n;
    }
    return offset === bytes.byteLength ? bytes : bytes.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/** Every file of the project but SKIPPED folders, each resolved once and read with readProjectFile's checks, within
 * the limits. */
export function readProject(root: string, limits: ProjectLimits): ProjectFile[] {
  const files: ProjectFile[] = [];
  let bytes = 0;
  const budget = {
    take(n: number) {
      bytes += n;
      if (bytes > limits.maxBytes) throw errors.PROJECT_TOO_LARGE(`The agent project is larger than ${limits.maxBytes} bytes`, { limit: limits.maxBytes });
    },
  };
  const visited = new Set<string>(); // real directories walked (a symlink to a parent folder must not loop)
  const walk = (real: string, rel: string) => {
    if (visited.has(real)) return;
    visited.add(real);
    for (const name of readdirSync(real).sort()) {
      if (skipped.has(name)) continue;
      const childRel = rel ? `${rel}/${name}` : name;
      const target = resolveInside(root, childRel);
      if (!target) continue; // vanished, or a dangling symlink
      const st = statSync(target);
      if (st.isDirectory()) walk(target, childRel);
      else {
        // Refused before the open: opening a device can act on it.
        if (!st.isFile()) throw refused(childRel, "not a regular file");
        if (files.length >= limits.maxFiles) throw errors.PROJECT_TOO_LARGE(`The agent project has more than ${limits.maxFiles} files`, { limit: limits.maxFiles });
        files.push({ path: childRel, bytes: readRegularFile(root, childRel, target, budget) });
      }
    }
  };
  walk(root, "");
  return files;
}

/** Replaces the regular file `name` directly in root with text, atomically (a temporary file, then a rename, which
 * replaces the directory entry and never writes through a symlink), keeping its mode and owner. Returns false (and
 * writes nothing) when the file is missing, a symlink or not a regular file. */
export function replaceProjectFile(root: string, name: string, text: string): boolean {
  if (name.includes("/")) return false;
  // Through the directory's descriptor: the folder cannot be swapped for a symlink between the checks and the write.
  const dirFd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    if (openedPath(dirFd) !== root) return false;
    const dir = `/proc/self/fd/${dirFd}`;
    const st = lstatSync(join(dir, name), { throwIfNoEntry: false });
    if (!st?.isFile()) return false;
    const temp = join(dir, `.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`);
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, st.mode & 0o777);
    try {
      try {
        const bytes = new TextEncoder().encode(text);
        for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
        fchmodSync(fd, st.mode & 0o777);
        fchownSync(fd, st.uid, st.gid);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, join(dir, name));
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {
        // already renamed, or never created
      }
      throw error;
    }
    return true;
  } finally {
    closeSync(dirFd);
  }
}
