// What the tar sanitizer remembers and works through per entry is bounded: names and link targets are short, the
// names kept for later checks have a budget, and a link or directory entry carries no data.
import { describe, expect, test } from "bun:test";
import { TarSanitizer } from "./tar-stream";
import { paxRecord, tarStream, type TarEntry } from "./test-tar";

const limits = { maxBytes: 1024 * 1024 * 1024, maxEntries: 100_000 };

/** Pushes the stream through a sanitizer in 64 KiB chunks; the error it stops with, if any. */
function sanitize(stream: Uint8Array, l = limits): { error?: { status: number; code: string; message: string; details?: { entry?: string } }; out: number } {
  const sanitizer = new TarSanitizer(l);
  let out = 0;
  try {
    for (let offset = 0; offset < stream.byteLength && !sanitizer.ended; offset += 65536) {
      for (const piece of sanitizer.push(stream.subarray(offset, offset + 65536))) out += piece.byteLength;
    }
    for (const piece of sanitizer.finish()) out += piece.byteLength;
    return { out };
  } catch (error) {
    return { error: error as never, out };
  }
}

const refused = (entries: TarEntry[]) => {
  const { error } = sanitize(tarStream(entries));
  expect(error?.status).toBe(400);
  expect(error?.code).toBe("INVALID_ARCHIVE");
  return error!;
};

/** n components of `size` bytes each. */
const path = (n: number, size: number) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(size, "a")).join("/");

describe("names and link targets", () => {
  test("a name over 4096 bytes is a 400 naming the entry, cut short", () => {
    const name = path(20, 250); // 5019 bytes, in a pax header
    const error = refused([{ name, body: "x" }]);
    expect(error.message).toContain("4096");
    expect(error.details?.entry?.startsWith(name.slice(0, 100))).toBe(true);
    expect(error.details!.entry!.length).toBeLessThan(300);
    expect(error.message.length).toBeLessThan(600);
  });

  test("a name of more than 64 components, or with a component over 255 bytes, is a 400", () => {
    expect(refused([{ name: `${"d/".repeat(64)}f`, body: "x" }]).message).toContain("65 components");
    expect(refused([{ name: `dir/${"x".repeat(256)}`, body: "x" }]).message).toContain("255");
    // At the limits, a name passes.
    expect(sanitize(tarStream([{ name: `${"d/".repeat(63)}f`, body: "x" }, { name: `dir/${"x".repeat(255)}`, body: "x" }])).error).toBeUndefined();
  });

  test("a symlink or hard link whose target is too long or too deep is a 400 naming the link", () => {
    for (const link of [path(20, 250), "a/".repeat(2000), `${"../".repeat(70)}x`, "y".repeat(300)]) {
      expect(refused([{ name: "f", body: "x" }, { name: "link", type: "2", link }]).details?.entry).toBe("link");
      expect(refused([{ name: "f", body: "x" }, { name: "hard", type: "1", link }]).details?.entry).toBe("hard");
    }
  });

  test("a pax record over 8 KiB is a 400", () => {
    const records = paxRecord("comment", "c".repeat(9000));
    expect(refused([{ name: "PaxHeader", type: "x", body: records }, { name: "f", body: "x" }]).message).toContain("extended header");
  });

  test("the names kept for later checks are capped at 16 MiB: a 413", () => {
    // 4,300 names of 4,015 bytes: far below the entry count and expanded size limits.
    const prefix = path(16, 250);
    const entries = Array.from({ length: 4300 }, (_, i): TarEntry => ({ name: `${prefix}/${String(i).padStart(4, "0")}` }));
    const { error } = sanitize(tarStream(entries));
    expect(error?.status).toBe(413);
    expect(error?.code).toBe("ARCHIVE_TOO_LARGE");
    // Symlinks remember every path their target passes through: those count too.
    const links = Array.from({ length: 600 }, (_, i): TarEntry => ({ name: `l${i}`, type: "2", link: `${prefix.replace(/^0/, `${i}-`)}/t` }));
    expect(sanitize(tarStream(links)).error?.code).toBe("ARCHIVE_TOO_LARGE");
  });

  test("deep, long names next to a symlink are checked in time linear in their length", () => {
    const prefix = path(63, 60); // 3842 bytes, 63 components: each name has 63 folders to look up
    const entries: TarEntry[] = [{ name: "target", body: "x" }, { name: "link", type: "2", link: "target" }];
    for (let i = 0; i < 4000; i++) entries.push({ name: `${prefix}/${i}` });
    const stream = tarStream(entries);
    const started = performance.now();
    expect(sanitize(stream).error).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("entries without data", () => {
  test("a directory, symlink or hard link entry with a size is a 400 naming it", () => {
    const size = 1024 * 1024;
    for (const entry of [
      { name: "dir", type: "5", size, body: new Uint8Array(size) },
      { name: "sym", type: "2", link: "f", size, body: new Uint8Array(size) },
      { name: "hard", type: "1", link: "f", size, body: new Uint8Array(size) },
    ]) {
      expect(refused([{ name: "f", body: "x" }, entry]).details?.entry).toBe(entry.name);
    }
    expect(sanitize(tarStream([{ name: "f", body: "x" }, { name: "dir", type: "5" }, { name: "sym", type: "2", link: "f" }, { name: "hard", type: "1", link: "f" }])).error).toBeUndefined();
  });
});
