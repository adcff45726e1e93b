// The streaming multipart reader against bodies split at every awkward place.
import { describe, expect, test } from "bun:test";
import { readMultipart } from "./multipart";

async function collect(body: Uint8Array, boundary: string, chunkSize: number) {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < body.length; i += chunkSize) c.enqueue(body.subarray(i, i + chunkSize));
      c.close();
    },
  });
  const parts: Record<string, { filename?: string; data: string }> = {};
  let current = "";
  for await (const e of readMultipart(stream, boundary)) {
    if (e.type === "part") parts[(current = e.name)] = { filename: e.filename, data: "" };
    else if (e.type === "data") parts[current]!.data += Buffer.from(e.chunk).toString("latin1");
  }
  return parts;
}

describe("reading multipart bodies as a stream", () => {
  test("fields and a file come out whole whatever the chunk size", async () => {
    const form = new FormData();
    form.append("path", "/workspace/a.bin");
    const bytes = new Uint8Array(70_000).map((_, i) => (i % 13 === 0 ? 13 : i % 10 === 0 ? 10 : 45));
    form.append("file", new Blob([bytes]), "a.bin");
    const req = new Request("http://x/", { method: "POST", body: form });
    const boundary = /boundary=(.+)$/.exec(req.headers.get("content-type")!)![1]!;
    const body = new Uint8Array(await req.arrayBuffer());
    for (const size of [1, 7, 64, 4096, body.length]) {
      const parts = await collect(body, boundary, size);
      expect(parts.path!.data).toBe("/workspace/a.bin");
      expect(parts.file!.filename).toBe("a.bin");
      expect(parts.file!.data).toBe(Buffer.from(bytes).toString("latin1"));
    }
  });

  test("a body without its closing boundary is rejected as malformed", async () => {
    const body = new TextEncoder().encode('--b\r\nContent-Disposition: form-data; name="path"\r\n\r\n/x');
    await expect(collect(body, "b", 5)).rejects.toThrow("malformed multipart body");
  });
});
