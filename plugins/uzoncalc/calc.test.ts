import { describe, expect, test } from "bun:test";
import { html, isHtml, isWindow, plainWindow, ui } from "./calc";

describe("html tagged template", () => {
  test("interpolated values are escaped; the template's own markup is kept", () => {
    expect(html`<p title="${'"q"'}">${"<script>&"}</p>`.html).toBe('<p title="&quot;q&quot;">&lt;script&gt;&amp;</p>');
  });

  test("nested html, html.raw and arrays of html are inserted as markup", () => {
    const rows = [1, 2].map((n) => html`<li>${n}</li>`);
    expect(html`<ul>${rows}</ul>${html.raw("<hr>")}`.html).toBe("<ul><li>1</li><li>2</li></ul><hr>");
  });

  test("null, undefined and false render as nothing; numbers as text", () => {
    expect(html`${null}${undefined}${false}${0}${1.5}`.html).toBe("01.5");
  });

  test("the result is recognised as HTML and prints as its markup", () => {
    const h = html`<b>x</b>`;
    expect(isHtml(h)).toBe(true);
    expect(`${h}`).toBe("<b>x</b>");
    expect(isHtml("<b>x</b>")).toBe(false);
  });
});

describe("ui.window", () => {
  test("fills in labels, normalizes options and keeps number limits", () => {
    const w = ui.window({
      title: "Loads",
      caption: "c",
      fields: [
        { name: "q", type: "number", min: 0, max: 10, unit: "kN/m", required: true },
        { name: "kind", type: "selectOne", options: ["a", { value: "b", label: "Bee" }] },
      ],
    });
    expect(isWindow(w)).toBe(true);
    expect(plainWindow(w)).toEqual({
      title: "Loads",
      caption: "c",
      fields: [
        { name: "q", label: "q", type: "number", required: true, min: 0, max: 10, unit: "kN/m" },
        { name: "kind", label: "kind", type: "selectOne", required: false, options: [{ value: "a", label: "a" }, { value: "b", label: "Bee" }] },
      ],
    });
  });

  test("rejects an unknown type, a duplicate name, a missing options list and a missing title", () => {
    expect(() => ui.window({ title: "t", fields: [{ name: "x", type: "date" as never }] })).toThrow(/unknown type/);
    expect(() => ui.window({ title: "t", fields: [{ name: "x", type: "text" }, { name: "x", type: "text" }] })).toThrow(/twice/);
    expect(() => ui.window({ title: "t", fields: [{ name: "x", type: "selectMany" }] })).toThrow(/options/);
    expect(() => ui.window({ title: "", fields: [] })).toThrow(/title/);
    expect(() => ui.window({ title: "t", fields: [{ name: "a b", type: "text" }] })).toThrow(/identifier/);
  });
});
