// A streaming multipart/form-data reader: yields each part's headers, then its bytes as they arrive, so an upload
// never has to sit whole in memory.

export type MultipartEvent =
  | { type: "part"; name: string; filename?: string }
  | { type: "data"; chunk: Uint8Array }
  | { type: "end-part" };

export function boundaryOf(contentType: string | null): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2])!.trim() : undefined;
}

const MAX_HEADER = 16 * 1024;

export async function* readMultipart(body: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<MultipartEvent> {
  const reader = body.getReader();
  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buf = Buffer.alloc(0);
  let done = false;
  const more = async (): Promise<boolean> => {
    if (done) return false;
    const r = await reader.read();
    if (r.done) {
      done = true;
      return false;
    }
    buf = buf.length ? Buffer.concat([buf, r.value]) : Buffer.from(r.value);
    return true;
  };
  const bad = (why: string) => new Error(`malformed multipart body: ${why}`);

  // Preamble up to the first boundary line.
  for (;;) {
    const i = buf.indexOf(first);
    if (i >= 0) {
      buf = buf.subarray(i + first.length);
      break;
    }
    if (buf.length > MAX_HEADER) throw bad("no opening boundary");
    if (!(await more())) throw bad("no opening boundary");
  }
  for (;;) {
    while (buf.length < 2) if (!(await more())) throw bad("truncated after a boundary");
    if (buf[0] === 0x2d && buf[1] === 0x2d) return; // "--": the closing boundary
    let end: number;
    while ((end = buf.indexOf("\r\n\r\n")) < 0) {
      if (buf.length > MAX_HEADER) throw bad("part headers too long");
      if (!(await more())) throw bad("truncated part headers");
    }
    const headers = buf.subarray(0, end).toString("utf8");
    buf = buf.subarray(end + 4);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw bad("a part has no name");
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    yield { type: "part", name, filename };
    for (;;) {
      const i = buf.indexOf(delimiter);
      if (i >= 0) {
        if (i > 0) yield { type: "data", chunk: buf.subarray(0, i) };
        buf = buf.subarray(i + delimiter.length);
        break;
      }
      // Keep a delimiter's length back: it may straddle two reads.
      const safe = buf.length - delimiter.length;
      if (safe > 0) {
        yield { type: "data", chunk: buf.subarray(0, safe) };
        buf = buf.subarray(safe);
      }
      if (!(await more())) throw bad("truncated part body");
    }
    yield { type: "end-part" };
  }
}
