import { describe, expect, test } from "bun:test";
import { plainWindow, ui } from "./calc";
import { validateInput } from "./validate";

const win = plainWindow(
  ui.window({
    title: "All",
    fields: [
      { name: "t", label: "Text", type: "text", required: true },
      { name: "n", label: "Number", type: "number", min: 1, max: 5 },
      { name: "one", label: "One", type: "selectOne", options: ["a", "b"], default: "a" },
      { name: "many", label: "Many", type: "selectMany", options: ["x", "y"] },
      { name: "flag", label: "Flag", type: "boolean" },
      { name: "long", label: "Long", type: "textarea" },
    ],
  }),
);

describe("validating a submitted window", () => {
  test("valid input is normalized: numeric strings become numbers, defaults fill gaps, duplicates collapse", () => {
    const r = validateInput(win, { t: "hi", n: "2.5", many: ["y", "y"], flag: "true" });
    expect(r).toEqual({ ok: true, values: { t: "hi", n: 2.5, one: "a", many: ["y"], flag: true, long: null } });
  });

  test("each broken rule gives a message under its field name", () => {
    const r = validateInput(win, { t: "", n: 9, one: "c", many: ["z"], flag: 3, long: {}, other: 1 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.fields).toEqual({
      t: "Text is required",
      n: "Number must be at most 5",
      one: "One must be one of: a, b",
      many: "Many has values not among the options (x, y): z",
      flag: "Flag must be true or false",
      long: "Long must be text",
      other: 'unknown field "other" (this window has: t, n, one, many, flag, long)',
    });
  });

  test("numbers below min and non-numbers are refused", () => {
    const low = validateInput(win, { t: "x", n: 0 });
    const nan = validateInput(win, { t: "x", n: "abc" });
    expect(!low.ok && low.fields.n).toBe("Number must be at least 1");
    expect(!nan.ok && nan.fields.n).toBe("Number must be a number");
  });

  test("a required boolean must be present, and the input must be an object", () => {
    const w = plainWindow(ui.window({ title: "b", fields: [{ name: "ok", label: "OK", type: "boolean", required: true }] }));
    expect(validateInput(w, {})).toEqual({ ok: false, fields: { ok: "OK is required" } });
    expect(validateInput(w, [] as never).ok).toBe(false);
  });
});
