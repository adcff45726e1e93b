// Checks a submitted form against the window the session waits on; returns normalized values or per-field messages.
import { jsonShapeProblem, validationFailed } from "bunker/core";
import type { CalcField, CalcWindow } from "./calc";

export type ValidationResult =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; fields: Record<string, string> };

const MISSING = Symbol("missing");

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

function checkNumber(field: CalcField, v: unknown): number | string {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  if (!Number.isFinite(n)) return "must be a number";
  if (field.min !== undefined && n < field.min) return `must be at least ${field.min}`;
  if (field.max !== undefined && n > field.max) return `must be at most ${field.max}`;
  return n;
}

/** Returns the value to hand to the sheet, or a message (as { error }). */
function checkField(field: CalcField, raw: unknown): { value: unknown } | { error: string } {
  if (field.type === "boolean") {
    if (raw === undefined || raw === null) {
      if (field.required) return { error: "is required" };
      return { value: typeof field.default === "boolean" ? field.default : false };
    }
    if (typeof raw === "boolean") return { value: raw };
    if (raw === "true" || raw === "on") return { value: true };
    if (raw === "false") return { value: false };
    return { error: "must be true or false" };
  }
  if (isEmpty(raw)) {
    if (field.required) return { error: "is required" };
    return { value: field.default ?? (field.type === "selectMany" ? [] : null) };
  }
  switch (field.type) {
    case "text":
    case "textarea":
      if (typeof raw !== "string" && typeof raw !== "number") return { error: "must be text" };
      return { value: String(raw) };
    case "number": {
      const n = checkNumber(field, raw);
      return typeof n === "number" ? { value: n } : { error: n };
    }
    case "selectOne": {
      const allowed = field.options!.map((o) => o.value);
      if (typeof raw !== "string" || !allowed.includes(raw)) return { error: `must be one of: ${allowed.join(", ")}` };
      return { value: raw };
    }
    case "selectMany": {
      const allowed = field.options!.map((o) => o.value);
      const list = Array.isArray(raw) ? raw : [raw];
      const bad = list.filter((x) => typeof x !== "string" || !allowed.includes(x));
      if (bad.length) return { error: `has values not among the options (${allowed.join(", ")}): ${bad.map(String).join(", ")}` };
      return { value: [...new Set(list as string[])] };
    }
  }
}

export function validateInput(win: CalcWindow, input: unknown): ValidationResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, fields: { _: "user_input must be an object of field values" } };
  }
  const given = input as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  const fields: Record<string, string> = {};
  const known = new Set(win.fields.map((f) => f.name));
  for (const field of win.fields) {
    const raw = Object.hasOwn(given, field.name) ? given[field.name] : MISSING;
    const checked = checkField(field, raw === MISSING ? undefined : raw);
    if ("error" in checked) fields[field.name] = `${field.label} ${checked.error}`;
    else values[field.name] = checked.value;
  }
  for (const name of Object.keys(given)) {
    if (!known.has(name)) fields[name] = `unknown field "${name}" (this window has: ${[...known].join(", ") || "no fields"})`;
  }
  return Object.keys(fields).length ? { ok: false, fields } : { ok: true, values };
}

/** How deep params and inputs may nest: far beyond any form, well short of what recursion in JSON code survives. */
const MAX_JSON_DEPTH = 32;
/** The longest object key anywhere in params or inputs (field names are short). */
const MAX_KEY_LENGTH = 128;

/** Refuses a request value that breaks the shape rules or weighs more than `maxBytes` as JSON (400, not echoing it). */
export function checkJsonSize(field: string, value: unknown, maxBytes: number): void {
  const problem = jsonShapeProblem(value, { maxDepth: MAX_JSON_DEPTH, maxKeyLength: MAX_KEY_LENGTH, maxBytes });
  if (problem) throw validationFailed("body", [{ field, message: problem }]);
}
