import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportedGenerators, isInside, SheetLoader } from "./loader";

let root: string;
let safe: string;
let loader: SheetLoader;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "uzoncalc-loader-"));
  safe = join(root, "safe");
  mkdirSync(join(safe, "sub"), { recursive: true });
  mkdirSync(join(root, "safe2"));
  writeFileSync(join(safe, "a.ts"), 'export async function* one() { yield "a"; }\n');
  writeFileSync(join(safe, "sub", "b.ts"), "/** Two. */\nexport async function* two() {}\nexport const notOne = 1;\n");
  writeFileSync(join(safe, "notes.txt"), "x");
  writeFileSync(join(root, "safe2", "evil.ts"), "export async function* evil() {}\n");
  symlinkSync(join(root, "safe2", "evil.ts"), join(safe, "link.ts"));
  symlinkSync(join(safe, "a.ts"), join(safe, "inner-link.ts"));
  loader = new SheetLoader([safe]);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("safe directories", () => {
  test("a directory does not contain its prefix sibling", () => {
    expect(isInside("/safe", "/safe/x.ts")).toBe(true);
    expect(isInside("/safe", "/safe2/x.ts")).toBe(false);
    expect(isInside("/safe", "/safe/../x.ts")).toBe(false);
    expect(isInside("/safe", "/safe/..x/y.ts")).toBe(true);
  });

  test("relative and absolute paths inside resolve to the real file", () => {
    expect(loader.resolve("a.ts")).toBe(join(safe, "a.ts"));
    expect(loader.resolve(join(safe, "sub", "b.ts"))).toBe(join(safe, "sub", "b.ts"));
    expect(loader.resolve("inner-link.ts")).toBe(join(safe, "a.ts"));
  });

  test("a prefix sibling, a symlink out, and .. are refused with 403; a missing file is 404", () => {
    for (const p of [join(root, "safe2", "evil.ts"), "link.ts", "../safe2/evil.ts", join(safe, "..", "safe2", "evil.ts")]) {
      expect(() => loader.resolve(p)).toThrow(expect.objectContaining({ status: 403, code: "PATH_NOT_ALLOWED" }));
    }
    expect(() => loader.resolve("missing.ts")).toThrow(expect.objectContaining({ status: 404 }));
    expect(() => loader.resolve("notes.txt")).toThrow(expect.objectContaining({ code: "NOT_A_SHEET" }));
  });
});

describe("module cache", () => {
  test("a module is loaded once, and again after its mtime changes", async () => {
    const file = join(safe, "counter.ts");
    writeFileSync(file, "export const n = Math.random(); export async function* f() {}\n");
    const first = await loader.load("counter.ts", "f");
    expect(await loader.load("counter.ts", "f")).toBe(first);
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(await loader.load("counter.ts", "f")).not.toBe(first);
  });

  test("a module with a syntax error is a 422 naming the file", async () => {
    writeFileSync(join(safe, "broken.ts"), "export async function* f( {\n");
    await expect(loader.load("broken.ts", "f")).rejects.toMatchObject({ status: 422, code: "SHEET_LOAD_FAILED" });
  });
});

describe("listing sheets", () => {
  test("lists exported async generators with their doc comment, without running the files", () => {
    const list = loader.list();
    expect(list.find((s) => s.name === "a.ts")?.functions).toEqual([{ name: "one" }]);
    expect(list.find((s) => s.name === join("sub", "b.ts"))?.functions).toEqual([{ name: "two", description: "Two." }]);
    expect(exportedGenerators("export async function*gen(){}\nexport function* sync(){}")).toEqual([{ name: "gen" }]);
  });
});
