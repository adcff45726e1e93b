// Helpers for sheet authors (`import { ui, html } from "bunker/calc"`): windows that pause a sheet, escaped HTML.
// Values are branded with global symbols so a sheet and the executor agree even when they load separate copies.

export type FieldType = "text" | "number" | "selectOne" | "selectMany" | "boolean" | "textarea";

export const FIELD_TYPES: readonly FieldType[] = ["text", "number", "selectOne", "selectMany", "boolean", "textarea"];

export interface FieldOption {
  value: string;
  label: string;
}

export interface FieldSpec {
  name: string;
  label?: string;
  type: FieldType;
  placeholder?: string;
  default?: unknown;
  /** selectOne / selectMany: plain strings or `{ value, label }`. */
  options?: Array<string | { value: string; label?: string }>;
  required?: boolean;
  /** number only. */
  min?: number;
  max?: number;
  step?: number;
  /** Shown after the input, e.g. "kN/m". */
  unit?: string;
}

/** A field as the executor sends it to clients: label and options filled in. */
export interface CalcField {
  name: string;
  label: string;
  type: FieldType;
  placeholder?: string;
  default?: unknown;
  options?: FieldOption[];
  required: boolean;
  min?: number;
  max?: number;
  step?: number;
  unit?: string;
}

export interface WindowSpec {
  title: string;
  caption?: string;
  fields: FieldSpec[];
}

export interface CalcWindow {
  title: string;
  caption?: string;
  fields: CalcField[];
}

/** What `yield ui.window(...)` evaluates to: the submitted values by field name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WindowInput = Record<string, any>;

/** What a sheet may yield: a window (pauses), HTML or text (appended to the report, no pause). */
export type SheetYield = WindowRequest | Html | string | number | null | undefined;

/** The return type to annotate sheets with: `export async function* beam(p: P): Sheet<Result> { ... }`. */
export type Sheet<TResult = void> = AsyncGenerator<SheetYield, TResult, WindowInput>;

const WINDOW_BRAND = Symbol.for("bunker.calc.window");
const HTML_BRAND = Symbol.for("bunker.calc.html");

export interface WindowRequest extends CalcWindow {
  readonly [WINDOW_BRAND]: true;
}

export interface Html {
  readonly [HTML_BRAND]: true;
  readonly html: string;
  toString(): string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function normalizeField(spec: FieldSpec, seen: Set<string>): CalcField {
  if (!spec || typeof spec !== "object") throw new TypeError("ui.window: each field must be an object");
  if (typeof spec.name !== "string" || !NAME.test(spec.name)) {
    throw new TypeError(`ui.window: field name ${JSON.stringify(spec.name)} must be an identifier (letters, digits, _)`);
  }
  if (seen.has(spec.name)) throw new TypeError(`ui.window: field "${spec.name}" is declared twice`);
  seen.add(spec.name);
  if (!FIELD_TYPES.includes(spec.type)) {
    throw new TypeError(`ui.window: field "${spec.name}" has unknown type ${JSON.stringify(spec.type)} (use ${FIELD_TYPES.join(", ")})`);
  }
  const field: CalcField = { name: spec.name, label: spec.label ?? spec.name, type: spec.type, required: spec.required === true };
  if (spec.placeholder !== undefined) field.placeholder = String(spec.placeholder);
  if (spec.unit !== undefined) field.unit = String(spec.unit);
  if (spec.type === "selectOne" || spec.type === "selectMany") {
    if (!Array.isArray(spec.options) || spec.options.length === 0) {
      throw new TypeError(`ui.window: field "${spec.name}" (${spec.type}) needs a non-empty options list`);
    }
    field.options = spec.options.map((o) =>
      typeof o === "string" ? { value: o, label: o } : { value: String(o.value), label: String(o.label ?? o.value) },
    );
  }
  if (spec.type === "number") {
    for (const key of ["min", "max", "step"] as const) {
      const v = spec[key];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError(`ui.window: field "${spec.name}" ${key} must be a finite number`);
      field[key] = v;
    }
  }
  if (spec.default !== undefined) field.default = spec.default;
  return field;
}

export const ui = {
  /** A form the sheet pauses on; `yield` it to receive the submitted values. */
  window(spec: WindowSpec): WindowRequest {
    if (!spec || typeof spec.title !== "string" || !spec.title) throw new TypeError("ui.window: a title is required");
    if (!Array.isArray(spec.fields)) throw new TypeError("ui.window: fields must be an array");
    const seen = new Set<string>();
    const win: CalcWindow = { title: spec.title, fields: spec.fields.map((f) => normalizeField(f, seen)) };
    if (spec.caption !== undefined) win.caption = String(spec.caption);
    return Object.assign(win, { [WINDOW_BRAND]: true as const });
  },
};

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function makeHtml(text: string): Html {
  return { [HTML_BRAND]: true, html: text, toString: () => text };
}

function renderValue(value: unknown): string {
  if (value === null || value === undefined || value === false) return "";
  if (isHtml(value)) return value.html;
  if (Array.isArray(value)) return value.map(renderValue).join("");
  return escapeHtml(String(value));
}

interface HtmlTag {
  (strings: TemplateStringsArray, ...values: unknown[]): Html;
  /** Trusted markup, inserted as is. Never pass user input here. */
  raw(markup: string): Html;
}

/** Tagged template: interpolated values are escaped unless they are Html themselves (nested html`` or html.raw). */
export const html: HtmlTag = Object.assign(
  (strings: TemplateStringsArray, ...values: unknown[]): Html => {
    let out = strings[0] ?? "";
    for (let i = 0; i < values.length; i++) out += renderValue(values[i]) + (strings[i + 1] ?? "");
    return makeHtml(out);
  },
  { raw: (markup: string): Html => makeHtml(String(markup)) },
);

export function isHtml(value: unknown): value is Html {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[HTML_BRAND] === true;
}

export function isWindow(value: unknown): value is WindowRequest {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[WINDOW_BRAND] === true;
}

/** The window as plain JSON (the brand dropped). */
export function plainWindow(win: CalcWindow): CalcWindow {
  const out: CalcWindow = { title: win.title, fields: win.fields.map((f) => ({ ...f })) };
  if (win.caption !== undefined) out.caption = win.caption;
  return out;
}
