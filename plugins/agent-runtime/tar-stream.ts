// An uploaded tar stream, checked entry by entry as it arrives and re-emitted as a clean ustar stream for the tar that
// unpacks it (in a sandbox). Only regular files, directories, and links that stay inside the project pass; names are
// relative without "..", the expanded size and the entry count are capped before a byte of an entry is passed on.
// Long names (pax `path`/`linkpath`, GNU 'L'/'K') are read, so the name checked is the name tar would use.
import { errors } from "./errors";

export interface TarLimits {
  /** Sum of the entries' sizes. */
  maxBytes: number;
  /** Files, directories and links. */
  maxEntries: number;
}

const BLOCK = 512;
/** Largest pax or GNU long-name record kept in memory. */
const MAX_META_BYTES = 64 * 1024;
const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Mode =
  | { kind: "header" }
  | { kind: "data"; remaining: number; forward: boolean }
  | { kind: "meta"; type: string; size: number; remaining: number; parts: Uint8Array[] }
  | { kind: "end" };

const invalid = (message: string, entry?: string) => errors.INVALID_ARCHIVE(message, entry === undefined ? undefined : { entry });

export class TarSanitizer {
  private pending: Uint8Array = new Uint8Array(0);
  private mode: Mode = { kind: "header" };
  /** Overrides for the next entry from pax or GNU long-name records. */
  private next: { path?: string; linkpath?: string; size?: number } = {};
  private entries = 0;
  private bytes = 0;
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
    this.count(name, type === "0" || type === "7" ? size : 0);
    this.checkNotUnderSymlink(name);
    if (this.symlinks.has(name)) throw invalid(`${name}: appears again after a symbolic link of that name`, name);
    const mode = number(h, 100, 8);
    switch (type) {
      case "0":
      case "7":
        if (!name) throw invalid("An archive entry has an empty name", rawName);
        this.files.add(name);
        this.mode = size > 0 ? { kind: "data", remaining: padded(size), forward: true } : { kind: "header" };
        return entryHeader({ name, type: "0", size, mode: mode & 0o111 ? 0o755 : 0o644, mtime });
      case "5":
        this.skipData(size);
        return name ? entryHeader({ name, type: "5", size: 0, mode: 0o755, mtime }) : [];
      case "2":
        this.checkSymlink(name, rawLink);
        this.skipData(size);
        return entryHeader({ name, type: "2", size: 0, mode: 0o777, mtime, link: rawLink });
      case "1": {
        const target = safeName(rawLink);
        if (!this.files.has(target)) throw invalid(`${name}: a hard link to ${rawLink}, which is not a file earlier in the archive`, name);
        this.skipData(size);
        return entryHeader({ name, type: "1", size: 0, mode: 0o644, mtime, link: target });
      }
      default:
        throw invalid(`${name}: entries of tar type '${type}' (devices, fifos, sparse files and the like) are not allowed`, name);
    }
  }

  private skipData(size: number) {
    this.mode = size > 0 ? { kind: "data", remaining: padded(size), forward: false } : { kind: "header" };
  }

  private count(name: string, size: number) {
    this.entries += 1;
    this.bytes += size;
    if (this.entries > this.limits.maxEntries) {
      throw errors.ARCHIVE_TOO_LARGE(`The archive has more than ${this.limits.maxEntries} entries`, { limit: this.limits.maxEntries, entry: name });
    }
    if (this.bytes > this.limits.maxBytes) {
      throw errors.ARCHIVE_TOO_LARGE(`The archive expands to more than ${this.limits.maxBytes} bytes`, { limit: this.limits.maxBytes, entry: name });
    }
  }

  private checkNotUnderSymlink(name: string) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (this.symlinks.has(parts.slice(0, i).join("/"))) throw invalid(`${name}: lies under the symbolic link ${parts.slice(0, i).join("/")}`, name);
    }
  }

  /** A symlink's target must be relative and resolve inside the project by its name alone, without passing through
   * another symlink of the archive; and no earlier target may pass through this one. */
  private checkSymlink(name: string, target: string) {
    if (!name) throw invalid("An archive entry has an empty name");
    const outside = () => invalid(`${name}: a symbolic link to ${target}, outside the project`, name);
    if (!target || target.startsWith("/") || target.includes("\0")) throw outside();
    if (this.traversed.has(name)) throw invalid(`${name}: a symbolic link where another link's target passes`, name);
    const stack = name.split("/").slice(0, -1);
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (stack.length === 0) throw outside();
        stack.pop();
      } else stack.push(part);
      const through = stack.join("/");
      if (this.symlinks.has(through)) throw invalid(`${name}: a symbolic link to another symbolic link (${through})`, name);
      this.traversed.add(through);
    }
    this.symlinks.add(name);
    this.files.delete(name); // a hard link to this name would now be a link to the symlink
  }

  private readMeta(type: string, data: Uint8Array) {
    if (type === "L") this.next.path = text(data, 0, data.byteLength);
    else if (type === "K") this.next.linkpath = text(data, 0, data.byteLength);
    else if (type === "x") Object.assign(this.next, paxRecords(data));
    // "g" (global pax records: comments, charset) changes nothing we check.
  }
}

/** A relative name with no "." segments; refuses absolute names and "..". "" is the archive's root. */
function safeName(raw: string): string {
  if (raw.includes("\0")) throw invalid("An archive entry's name contains a NUL byte");
  if (raw.startsWith("/")) throw invalid(`${raw}: absolute paths are not allowed in an archive`, raw);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw invalid(`${raw}: ".." is not allowed in an archive entry's name`, raw);
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
