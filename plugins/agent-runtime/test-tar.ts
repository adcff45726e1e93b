// Tar streams built by hand for the tests: the hostile archives are made of entries no well-behaved tar writes.
const encoder = new TextEncoder();

export interface TarEntry {
  name: string;
  /** "0" file, "1" hard link, "2" symlink, "5" directory, "x"/"g" pax records. Default "0". */
  type?: string;
  body?: Uint8Array | string;
  link?: string;
  /** Declared size, when it differs from the body's. */
  size?: number;
}

const bytesOf = (body: Uint8Array | string | undefined) => (typeof body === "string" ? encoder.encode(body) : (body ?? new Uint8Array(0)));
const padding = (n: number) => new Uint8Array((512 - (n % 512)) % 512);

function header(e: TarEntry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (offset: number, length: number, value: string) => h.set(encoder.encode(value).subarray(0, length), offset);
  put(0, 100, e.name);
  put(100, 8, "0000644\0");
  put(108, 8, "0000000\0");
  put(116, 8, "0000000\0");
  put(124, 12, `${size.toString(8).padStart(11, "0")}\0`);
  put(136, 12, "00000000000\0");
  put(148, 8, "        ");
  put(156, 1, e.type ?? "0");
  put(157, 100, e.link ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(148, 8, `${h.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** One pax record ("<length> key=value\n"). */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = encoder.encode(body).byteLength;
  let length = n + String(n).length;
  if (String(length).length !== String(n).length) length = n + String(length).length;
  return `${length}${body}`;
}

/** The uncompressed tar stream of entries; a name or link over 100 bytes goes into a pax header first. */
export function tarStream(entries: TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const long = (e.name.length > 100 ? paxRecord("path", e.name) : "") + ((e.link?.length ?? 0) > 100 ? paxRecord("linkpath", e.link!) : "");
    if (long) {
      const records = encoder.encode(long);
      parts.push(header({ name: "PaxHeader", type: "x" }, records.byteLength), records, padding(records.byteLength));
    }
    const body = bytesOf(e.body);
    parts.push(header(e, e.size ?? body.byteLength), body, padding(body.byteLength));
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}
