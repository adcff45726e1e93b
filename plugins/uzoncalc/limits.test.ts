// Oversized or too deeply nested requests are a 400 that does not echo the value, and leave sessions as they were.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Bunker } from "bunker/core";
import { join } from "node:path";
import { calcBunker, call, makeSafeDir, resume, start, status } from "./testing";

let dir: ReturnType<typeof makeSafeDir>;
let bunker: Bunker;
beforeAll(async () => {
  dir = makeSafeDir("uzoncalc-limits-");
  bunker = await calcBunker({ name: "in-process", executor: "inprocess", sandbox: false }, join(dir.root, "data"), { safeDirs: [dir.safe] });
});
afterAll(async () => {
  await bunker.stop();
  dir.cleanup();
});

const nested = (depth: number) => {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = { v: value };
  return value;
};
const huge = "w".repeat(300 * 1024);

describe("size caps on the execution API", () => {
  const startCases: Array<[string, Record<string, unknown>]> = [
    ["params over 256 KiB", { params: { text: huge } }],
    ["params with more than 200 keys", { params: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, i])) }],
    ["a params key over 128 characters", { params: { ["w".repeat(5000)]: 1 } }],
    ["params nested 100 deep", { params: { deep: nested(100) } }],
    ["a session id over 80 characters", { session_id: "w".repeat(5000) }],
    ["a file path over 4096 characters", { file_path: "w".repeat(50_000) }],
    ["a function name over 200 characters", { func_name: "w".repeat(50_000) }],
  ];

  test.each(startCases)("a start with %s is 400 VALIDATION_FAILED without the value echoed", async (_what, extra) => {
    const res = await start(bunker, { file_path: dir.sheet, func_name: "survey", ...extra });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(JSON.stringify(res.body)).not.toContain("w".repeat(1000));
  });

  test("an input over 256 KiB or nested too deeply is 400, and the session keeps waiting with nothing lost", async () => {
    const first = await start(bunker, { file_path: dir.sheet, func_name: "survey" });
    const id = first.body.session_id;
    for (const user_input of [{ name: huge }, { name: nested(100) }, Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`f${i}`, i]))]) {
      const res = await resume(bunker, id, user_input);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(JSON.stringify(res.body)).not.toContain("w".repeat(1000));
    }
    expect((await status(bunker, id)).body).toMatchObject({ status: "waiting_input", ui_steps: 0, html: first.body.html });
    expect((await resume(bunker, id, { name: "Ada" })).body.ui.title).toBe("More");
  });

  test("a long path that is not a sheet is named only in part in the 404", async () => {
    const res = await start(bunker, { file_path: "w".repeat(4000), func_name: "survey" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("SHEET_NOT_FOUND");
    expect(res.body.error.details.file_path).toContain("4000 characters");
    expect(JSON.stringify(res.body)).not.toContain("w".repeat(1000));
  });

  test("a long path for invalidate-cache is 400 or 404, never echoed whole", async () => {
    for (const file_path of ["w".repeat(50_000), "w".repeat(4000)]) {
      const res = await call(bunker, "POST", "/v1/calc/execution/invalidate-cache", { file_path });
      expect([400, 404]).toContain(res.status);
      expect(JSON.stringify(res.body)).not.toContain("w".repeat(1000));
    }
  });
});
