import { describe, expect, test } from "bun:test";
import { forEachLine, LineTooLongError, readLines } from "./lines";

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === "string" ? enc.encode(c) : c);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, options?: Parameters<typeof readLines>[1]) {
  const lines: string[] = [];
  for await (const line of readLines(stream, options)) lines.push(line);
  return lines;
}

describe("readLines", () => {
  test("splits on newlines across chunk boundaries and keeps a last line without a newline", async () => {
    expect(await collect(streamOf("a\nb", "c\r\n", "\nd"))).toEqual(["a", "bc", "", "d"]);
  });

  test("keeps a multi-byte character split between two chunks", async () => {
    const bytes = new TextEncoder().encode("é\n");
    expect(await collect(streamOf(bytes.subarray(0, 1), bytes.subarray(1)))).toEqual(["é"]);
  });

  test("cuts an over-long line and drops the rest of it, so memory stays bounded", async () => {
    expect(await collect(streamOf("x".repeat(10), "y".repeat(10), "z\nnext\n"), { maxLineLength: 8 })).toEqual(["xxxxxxxx", "next"]);
  });

  test("throws LineTooLongError when asked to", async () => {
    await expect(collect(streamOf("x".repeat(20)), { maxLineLength: 8, onOverflow: "throw" })).rejects.toBeInstanceOf(LineTooLongError);
  });

  test("forEachLine calls back in order and ends quietly when the stream errors", async () => {
    const seen: string[] = [];
    let pulls = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulls++ === 0) c.enqueue(new TextEncoder().encode("one\ntwo"));
        else c.error(new Error("gone"));
      },
    });
    await forEachLine(failing, (l) => seen.push(l));
    expect(seen).toEqual(["one"]);
  });
});
