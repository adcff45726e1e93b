// Example sheet: one window, one number, a short report.
import { html, ui, type Sheet } from "bunker/calc";

/** Area and circumference of a circle. */
export async function* circle(): Sheet<{ area: number }> {
  const { r, label } = yield ui.window({
    title: "Circle",
    fields: [
      { name: "r", label: "Radius", type: "number", unit: "m", required: true, min: 0 },
      { name: "label", label: "Name", type: "text", placeholder: "optional" },
    ],
  });
  const area = Math.PI * r * r;
  yield html`<h2>Circle${label ? html` “${label}”` : ""}</h2><p>A = π·r² = ${area.toFixed(3)} m²; C = 2·π·r = ${(2 * Math.PI * r).toFixed(3)} m</p>`;
  return { area };
}
