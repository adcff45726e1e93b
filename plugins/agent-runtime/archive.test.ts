// Uploaded archives are unpacked by tar in a real bubblewrap sandbox (the liteboxd isolation service), as the sandbox
// uid, from the checked stream; real GNU tar archives (gnu and pax long names, links inside) come through whole.
import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBwrapIsolation } from "../liteboxd/isolation";
import { withUnpackedProject } from "./archive";
import { paxRecord, tarStream, type TarEntry } from "./test-tar";

const tmp = mkdtempSync(join(tmpdir(), "agent-archive-"));
const uploadsDir = join(tmp, "uploads");
const isolation = createBwrapIsolation({ uid: 65534, gid: 65534 });
const limits = { uploadsDir, maxBytes: 16 * 1024 * 1024, maxExpandedBytes: 16 * 1024 * 1024, maxEntries: 100, timeoutMs: 30_000, isolation };
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const longDir = `${"deep-folder-name/".repeat(8)}leaf`; // over tar's 100-byte name field

/** A project tree packed by the system's GNU tar in the given format. */
function packed(format: "gnu" | "pax"): Uint8Array {
  const src = mkdtempSync(join(tmp, "src-"));
  mkdirSync(join(src, "proj", longDir), { recursive: true });
  writeFileSync(join(src, "proj", "agent.yaml"), "name: x\n");
  writeFileSync(join(src, "proj", longDir, "data.txt"), "deep\n");
  symlinkSync("agent.yaml", join(src, "proj", "config.yaml"));
  const out = Bun.spawnSync(["tar", "-cz", `--format=${format}`, "-f", "-", "-C", src, "proj"]);
  expect(out.exitCode).toBe(0);
  return out.stdout;
}

const body = (bytes: Uint8Array) => new Blob([new Uint8Array(bytes)]).stream();

describe("unpacking an upload", () => {
  for (const format of ["gnu", "pax"] as const) {
    test(`a ${format} archive with long names and a link inside unpacks whole, owned by the sandbox uid`, async () => {
      const seen = await withUnpackedProject(body(packed(format)), limits, async (root) => ({
        root,
        deep: readFileSync(join(root, longDir, "data.txt"), "utf8"),
        link: readlinkSync(join(root, "config.yaml")),
        owner: lstatSync(join(root, "agent.yaml")).uid,
      }));
      expect(seen.root.endsWith("/proj")).toBe(true); // the wrapping folder is the project
      expect(seen.deep).toBe("deep\n");
      expect(seen.link).toBe("agent.yaml");
      expect(seen.owner).toBe(65534);
      expect(readdirSync(uploadsDir)).toEqual([]);
    });
  }

  test("the staging directory is removed when the deploy that uses it fails", async () => {
    const failing = withUnpackedProject(body(packed("gnu")), limits, async () => {
      throw new Error("deploy failed");
    });
    await expect(failing).rejects.toThrow("deploy failed");
    expect(readdirSync(uploadsDir)).toEqual([]);
  });

  test("a truncated archive is a 400 and leaves nothing", async () => {
    const whole = Bun.gunzipSync(new Uint8Array(packed("gnu")));
    const cut = Bun.gzipSync(new Uint8Array(whole.subarray(0, 700)));
    const error = await withUnpackedProject(body(cut), limits, async () => "unreachable").catch((e) => e);
    expect(error.status).toBe(400);
    expect(error.code).toBe("INVALID_ARCHIVE");
    expect(readdirSync(uploadsDir)).toEqual([]);
  });

  test("an upload over the compressed limit is a 413", async () => {
    const error = await withUnpackedProject(body(crypto.getRandomValues(new Uint8Array(64 * 1024))), { ...limits, maxBytes: 1024 }, async () => "x").catch((e) => e);
    expect(error.status).toBe(413);
    expect(readdirSync(uploadsDir)).toEqual([]);
  });

  test("every decompressed byte counts: pax records no entry's size covers stop at the cap with a 413", async () => {
    // 200 global pax records of 8,000 bytes: 1.6 MB of tar around two tiny files, against 64 KiB + 10 entries' headers.
    const record = paxRecord("comment", "c".repeat(7980));
    const comments = Array.from({ length: 200 }, (): TarEntry => ({ name: "GlobalHead", type: "g", body: record }));
    const tar = tarStream([{ name: "agent.yaml", body: "name: x\n" }, ...comments, { name: "agent.ts", body: "\n" }]);
    const small = { ...limits, maxExpandedBytes: 64 * 1024, maxEntries: 10 };
    const error = await withUnpackedProject(body(Bun.gzipSync(new Uint8Array(tar))), small, async () => "unpacked").catch((e) => e);
    expect(error.status).toBe(413);
    expect(error.code).toBe("ARCHIVE_TOO_LARGE");
    expect(readdirSync(uploadsDir)).toEqual([]);
  });
});
