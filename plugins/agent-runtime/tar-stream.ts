// An uploaded tar stream, checked entry by entry as it arrives and re-emitted as a clean ustar stream for the tar that
// unpacks it (in a sandbox). Only regular files, directories, and links that stay inside the project pass; names are
// relative without "..", the expanded size and the entry count are capped before a byte of an entry is passed on.
// Long names (pax `path`/`linkpath`, GNU 'L'/'K') are read, so the name checked is the name tar would use.
// What is remembered per entry is bounded too: names and link targets are short (MAX_NAME_BYTES, MAX_COMPONENTS,
// MAX_COMPONENT_BYTES), and the names kept to check later entries count against MAX_HELD_BYTES.
import { quoted } from "bunker/core";
import { errors } from "./errors";

interface TarLimits {
  /** Sum of the entries' sizes. */
  maxBytes: number;
  /** Files, directories and links. */
  maxEntries: number;
}

const BLOCK = 512;
/** Largest pax or GNU long-name record kept in memory. */
const MAX_META_BYTES = 8 * 1024;
/** Longest entry name or link target (Linux's PATH_MAX). */
const MAX_NAME_BYTES = 4096;
/** Most "/"-separated components of a name or link target. */
const MAX_COMPONENTS = 64;
/** Longest component of a name or link target (Linux's NAME_MAX). */
const MAX_COMPONENT_BYTES = 255;
/** Most bytes of names remembered (files, symlinks, paths symlink targets pass through) for the checks of later
 * entries. */
const MAX_HELD_BYTES = 16 * 1024 * 1024;
const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Mode =
  | { kind: "header" }
  | { kind: "data"; remaining: number; forward: boolean }
  | { kind: "meta"; type: string; size: number; remaining: number; parts: Uint8Array[] }
  | { kind: "end" };

/** A 400 naming the entry (cut short: a name may be up to MAX_META_BYTES long before it is refused). */
const invalid = (message: string, entry?: string) => errors.INVALID_ARCHIVE(message, entry === undefined ? undefined : { entry: quoted(entry) });
const byteLength = (s: string) => Buffer.byteLength(s);

export class TarSanitizer {
  private pending: Uint8Array = new Uint8Array(0);
  private mode: Mode = { kind: "header" };
  /** Overrides for the next entry from pax or GNU long-name records. */
  private next: { path?: string; linkpath?: string; size?: number } = {};
  private entries = 0;
  private bytes = 0;
  /** Bytes of the names in files, symlinks and traversed. */
  private held = 0;
  private readonly files = new Set<string>();
  private readonly symlinks = new Set<string>();
  /** Paths that symlink targets pass through: none may become a symlink later (a chain could lead out). */
  private readonly traversed = new Set<string>();

  constructor(private readonly limits: TarLimits) {}

  /** True once the end-of-archive block was read: the rest of the input is ignored. */
  get ended(): boolean {
    return this.mode.kind === "end";
  }

  /** Consumes a chunk of the uncompressed tar stream; returns the clean bytes to pass on. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let input = chunk;
    while (input.byteLength > 0 && this.mode.kind !== "end") {
      const mode = this.mode;
      if (mode.kind === "data") {
        const n = Math.min(mode.remaining, input.byteLength);
        if (mode.forward) out.push(input.subarray(0, n));
        mode.remaining -= n;
        input = input.subarray(n);
        if (mode.remaining === 0) this.mode = { kind: "header" };
      } else if (mode.kind === "meta") {
        const n = Math.min(mode.remaining, input.byteLength);
        mode.parts.push(input.slice(0, n));
        mode.remaining -= n;
        input = input.subarray(n);
        if (mode.remaining === 0) {
          this.readMeta(mode.type, concat(mode.parts).subarray(0, mode.size));
          this.mode = { kind: "header" };
        }
      } else {
        const need = BLOCK - this.pending.byteLength;
        const take = input.subarray(0, need);
        this.pending = this.pending.byteLength === 0 && take.byteLength === BLOCK ? take : concat([this.pending, take]);
        input = input.subarray(take.byteLength);
        if (this.pending.byteLength === BLOCK) {
          const header = this.pending;
          this.pending = new Uint8Array(0);
          out.push(...this.readHeader(header));
        }
      }
    }
    return out;
  }

  /** The end-of-archive blocks; throws when the input stopped inside an entry. */
  finish(): Uint8Array[] {
    if (this.mode.kind === "data" || this.mode.kind === "meta" || this.pending.byteLength > 0) {
      throw invalid("The archive ends in the middle of an entry (truncated upload?)");
    }
    return [new Uint8Array(2 * BLOCK)];
  }

  private readHeader(h: Uint8Array): Uint8Array[] {
    if (h.every((b) => b === 0)) {
      this.mode = { kind: "end" };
      return [];
    }
    if (checksum(h) !== octal(h, 148, 8)) throw invalid("Not a tar archive (a header's checksum is wrong)");
    const type = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const ustar = decoder.decode(h.subarray(257, 262)) === "ustar";
    const prefix = ustar ? text(h, 345, 155) : "";
    const rawName = this.next.path ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const rawLink = this.next.linkpath ?? text(h, 157, 100);
    const size = this.next.size ?? number(h, 124, 12);
    const mtime = number(h, 136, 12);
    this.next = {};
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (size > MAX_META_BYTES) throw invalid(`An extended header of ${size} bytes is larger than ${MAX_META_BYTES}`);
      this.mode = size === 0 ? { kind: "header" } : { kind: "meta", type, size, remaining: padded(size), parts: [] };
      return [];
    }
    const name = safeName(rawName);
    const regular = type === "0" || type === "7";
    if (size !== 0 && (type === "1" || type === "2" || type === "5")) {
      throw invalid(`${quoted(name)}: a ${type === "5" ? "directory" : "link"} entry with ${size} bytes of data`, name);
    }
    this.count(name, regular ? size : 0);
    this.checkNotUnderSymlink(name);
    if (this.symlinks.has(name)) throw invalid(`${quoted(name)}: appears again after a symbolic link of that name`, name);
    const mode = number(h, 100, 8);
    switch (type) {
      case "0":
      case "7":
        if (!name) throw invalid("An archive entry has an empty name", rawName);
        this.remember(this.files, name);
        this.mode = size > 0 ? { kind: "data", remaining: padded(size), forward: true } : { kind: "header" };
        return entryHeader({ name, type: "0", size, mode: mode & 0o111 ? 0o755 : 0o644, mtime });
      case "5":
        return name ? entryHeader({ name, type: "5", size: 0, mode: 0o755, mtime }) : [];
      case "2":
        this.checkSymlink(name, rawLink);
        return entryHeader({ name, type: "2", size: 0, mode: 0o777, mtime, link: rawLink });
      case "1": {
        const target = safeName(rawLink, name);
        if (!this.files.has(target)) throw invalid(`${quoted(name)}: a hard link to ${quoted(rawLink)}, which is not a file earlier in the archive`, name);
        return entryHeader({ name, type: "1", size: 0, mode: 0o644, mtime, link: target });
      }
      default:
        throw invalid(`${quoted(name)}: entries of tar type '${type}' (devices, fifos, sparse files and the like) are not allowed`, name);
    }
  }

  /** Adds name to one of the sets, within MAX_HELD_BYTES. */
  private remember(set: Set<string>, name: string) {
    if (set.has(name)) return;
    this.held += byteLength(name);
    if (this.held > MAX_HELD_BYTES) {
      throw errors.ARCHIVE_TOO_LARGE(`The archive's entry names add up to more than ${MAX_HELD_BYTES} bytes`, { limit: MAX_HELD_BYTES, entry: quoted(name) });
    }
    set.add(name);
  }

  private count(name: string, size: number) {
    this.entries += 1;
    this.bytes += size;
    if (this.entries > this.limits.maxEntries) {
      throw errors.ARCHIVE_TOO_LARGE(`The archive has more than ${this.limits.maxEntries} entries`, { limit: this.limits.maxEntries, entry: quoted(name) });
    }
    if (this.bytes > this.limits.maxBytes) {
      throw errors.ARCHIVE_TOO_LARGE(`The archive expands to more than ${this.limits.maxBytes} bytes`, { limit: this.limits.maxBytes, entry: quoted(name) });
    }
  }

  private checkNotUnderSymlink(name: string) {
    if (this.symlinks.size === 0) return;
    for (let slash = name.indexOf("/"); slash !== -1; slash = name.indexOf("/", slash + 1)) {
      const folder = name.slice(0, slash);
      if (this.symlinks.has(folder)) throw invalid(`${quoted(name)}: lies under the symbolic link ${quoted(folder)}`, name);
    }
  }

  /** A symlink's target must be relative and resolve inside the project by its name alone, without passing through
   * another symlink of the archive; and no earlier target may pass through this one. */
  private checkSymlink(name: string, target: string) {
    if (!name) throw invalid("An archive entry has an empty name");
    const outside = () => invalid(`${quoted(name)}: a symbolic link to ${quoted(target)}, outside the project`, name);
    if (!target || target.startsWith("/") || target.includes("\0")) throw outside();
    checkShape(target, "link target", name);
    if (this.traversed.has(name)) throw invalid(`${quoted(name)}: a symbolic link where another link's target passes`, name);
    // The paths the target passes through, each built from the one before (not re-joined per component).
    const through: string[] = [];
    for (let slash = name.indexOf("/"); slash !== -1; slash = name.indexOf("/", slash + 1)) through.push(name.slice(0, slash));
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (through.length === 0) throw outside();
        through.pop();
      } else through.push(through.length === 0 ? part : `${through[through.length - 1]}/${part}`);
      const path = through[through.length - 1];
      if (path === undefined) continue; // the project's root
      if (this.symlinks.has(path)) throw invalid(`${quoted(name)}: a symbolic link to another symbolic link (${quoted(path)})`, name);
      this.remember(this.traversed, path);
    }
    this.remember(this.symlinks, name);
    this.files.delete(name); // a hard link to this name would now be a link to the symlink
  }

  private readMeta(type: string, data: Uint8Array) {
    if (type === "L") this.next.path = text(data, 0, data.byteLength);
    else if (type === "K") this.next.linkpath = text(data, 0, data.byteLength);
    else if (type === "x") Object.assign(this.next, paxRecords(data));
    // "g" (global pax records: comments, charset) changes nothing we check.
  }
}

/** Refuses a name or link target over MAX_NAME_BYTES, with more than MAX_COMPONENTS components or a component over
 * MAX_COMPONENT_BYTES. */
function checkShape(raw: string, what: string, entry: string): void {
  const bytes = byteLength(raw);
  if (bytes > MAX_NAME_BYTES) throw invalid(`${quoted(entry)}: a ${what} of ${bytes} bytes (at most ${MAX_NAME_BYTES})`, entry);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length > MAX_COMPONENTS) throw invalid(`${quoted(entry)}: a ${what} of ${parts.length} components (at most ${MAX_COMPONENTS})`, entry);
  if (parts.some((p) => byteLength(p) > MAX_COMPONENT_BYTES)) {
    throw invalid(`${quoted(entry)}: a ${what} with a component over ${MAX_COMPONENT_BYTES} bytes`, entry);
  }
}

/** A relative name with no "." segments; refuses absolute names, "..", and names checkShape refuses. "" is the
 * archive's root. entry: the entry it belongs to (a hard link's target is checked as the link's). */
function safeName(raw: string, entry = raw): string {
  const what = entry === raw ? "name" : "link target";
  if (raw.includes("\0")) throw invalid(`An archive entry's ${what} contains a NUL byte`);
  if (raw.startsWith("/")) throw invalid(`${quoted(raw)}: absolute paths are not allowed in an archive`, entry);
  checkShape(raw, what, entry);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw invalid(`${quoted(raw)}: ".." is not allowed in an archive entry's name`, entry);
  return parts.join("/");
}

function paxRecords(data: Uint8Array): { path?: string; linkpath?: string; size?: number } {
  const found: { path?: string; linkpath?: string; size?: number } = {};
  let offset = 0;
  while (offset < data.byteLength) {
    const space = data.indexOf(0x20, offset);
    const length = space > offset ? Number(decoder.decode(data.subarray(offset, space))) : NaN;
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.byteLength) throw invalid("A pax header of the archive is malformed");
    const record = decoder.decode(data.subarray(space + 1, offset + length - 1));
    const eq = record.indexOf("=");
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === "path") found.path = value;
    else if (key === "linkpath") found.linkpath = value;
    else if (key === "size") {
      found.size = Number(value);
      if (!Number.isSafeInteger(found.size) || found.size < 0) throw invalid("A pax header of the archive has an invalid size");
    }
    offset += length;
  }
  return found;
}

/** A NUL-terminated field. */
function text(h: Uint8Array, offset: number, length: number): string {
  const field = h.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function octal(h: Uint8Array, offset: number, length: number): number {
  const value = text(h, offset, length).trim();
  if (value === "") return 0;
  if (!/^[0-7]+$/.test(value)) throw invalid("Not a tar archive (a header field is not a number)");
  return parseInt(value, 8);
}

/** Octal, or GNU base-256 (high bit set) for large values. */
function number(h: Uint8Array, offset: number, length: number): number {
  if ((h[offset]! & 0x80) === 0) return octal(h, offset, length);
  if (h[offset]! & 0x40) throw invalid("Not a tar archive (a negative header field)");
  let value = h[offset]! & 0x3f;
  for (let i = offset + 1; i < offset + length; i++) value = value * 256 + h[i]!;
  return value;
}

function checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

interface EntryFields {
  name: string;
  type: "0" | "1" | "2" | "5";
  size: number;
  mode: number;
  mtime: number;
  link?: string;
}

/** A ustar header for the entry, preceded by a pax header when a name does not fit its field. */
function entryHeader(e: EntryFields): Uint8Array[] {
  const name = e.type === "5" ? `${e.name}/` : e.name;
  const link = e.link ?? "";
  const long = encoder.encode(name).byteLength > 100 || encoder.encode(link).byteLength > 100;
  const blocks: Uint8Array[] = [];
  if (long) {
    const records = paxRecord("path", name) + (link ? paxRecord("linkpath", link) : "");
    const body = encoder.encode(records);
    blocks.push(ustarHeader({ name: "PaxHeader", type: "x", size: body.byteLength, mode: 0o644, mtime: e.mtime }));
    const data = new Uint8Array(padded(body.byteLength));
    data.set(body);
    blocks.push(data);
  }
  blocks.push(ustarHeader({ name: long ? name.slice(0, 99) : name, type: e.type, size: e.size, mode: e.mode, mtime: e.mtime, link: long ? link.slice(0, 99) : link }));
  return blocks;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = encoder.encode(body).byteLength;
  let length = bodyBytes + String(bodyBytes).length;
  if (String(length).length !== String(bodyBytes).length) length = bodyBytes + String(length).length;
  return `${length}${body}`;
}

function ustarHeader(e: { name: string; type: string; size: number; mode: number; mtime: number; link?: string }): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, value: string) => h.set(encoder.encode(value).subarray(0, length), offset);
  const putOctal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  put(0, 100, e.name);
  putOctal(100, 8, e.mode);
  putOctal(108, 8, 0);
  putOctal(116, 8, 0);
  putOctal(124, 12, e.size);
  putOctal(136, 12, Math.max(0, Math.min(e.mtime, 0o77777777777)));
  h[156] = e.type.charCodeAt(0);
  put(157, 100, e.link ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(148, 8, `${checksum(h).toString(8).padStart(6, "0")}\0 `);
  return h;
}
