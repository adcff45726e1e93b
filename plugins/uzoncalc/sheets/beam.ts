// Example sheet: a simply supported steel beam under a distributed load (two windows, most field types, an HTML report).
// Sheets must be deterministic: after a server restart a waiting session is replayed from its recorded inputs.
import { html, ui, type Sheet } from "bunker/calc";

const SECTIONS: Record<string, { label: string; W: number; I: number; g: number }> = {
  IPE200: { label: "IPE 200", W: 194e3, I: 19.43e6, g: 0.224 },
  IPE240: { label: "IPE 240", W: 324e3, I: 38.92e6, g: 0.307 },
  IPE300: { label: "IPE 300", W: 557e3, I: 83.56e6, g: 0.422 },
  HEA260: { label: "HEA 260", W: 836e3, I: 104.5e6, g: 0.682 },
};
const GRADES: Record<string, number> = { S235: 235, S275: 275, S355: 355 };
const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** Steel beam check: bending, shear and deflection of a simply supported span. */
export async function* beam(params: { span?: number; project?: string }): Sheet<{ ok: boolean; utilization: number; M: number }> {
  const span = typeof params.span === "number" && params.span > 0 ? params.span : 6;
  yield html`<h2>Beam check${params.project ? html` — ${params.project}` : ""}</h2>
<p>Simply supported span <b>L = ${fmt(span)} m</b>.</p>`;

  const geo = yield ui.window({
    title: "Section and material",
    caption: "Pick the profile and the steel grade.",
    fields: [
      { name: "section", label: "Section", type: "selectOne", required: true, default: "IPE240",
        options: Object.entries(SECTIONS).map(([value, s]) => ({ value, label: s.label })) },
      { name: "grade", label: "Steel grade", type: "selectOne", required: true, default: "S355", options: Object.keys(GRADES) },
      { name: "gammaM0", label: "Partial factor γM0", type: "number", default: 1.0, min: 1, max: 1.5, step: 0.05 },
    ],
  });
  const section = SECTIONS[geo.section]!;
  const fy = GRADES[geo.grade]!;
  const gammaM0: number = geo.gammaM0 ?? 1.0;
  yield html`<h3>Section</h3>
<table><tr><th>Profile</th><td>${section.label}</td></tr>
<tr><th>W<sub>el</sub></th><td>${fmt(section.W / 1e3, 0)} cm³</td></tr>
<tr><th>I</th><td>${fmt(section.I / 1e4, 0)} cm⁴</td></tr>
<tr><th>f<sub>y</sub> / γ<sub>M0</sub></th><td>${fy} / ${gammaM0} MPa</td></tr></table>`;

  const load = yield ui.window({
    title: "Loads",
    fields: [
      { name: "q", label: "Distributed load", type: "number", unit: "kN/m", required: true, min: 0, placeholder: "e.g. 12" },
      { name: "selfWeight", label: "Include self-weight", type: "boolean", default: true },
      { name: "checks", label: "Checks", type: "selectMany", default: ["bending", "shear", "deflection"],
        options: [{ value: "bending", label: "Bending" }, { value: "shear", label: "Shear" }, { value: "deflection", label: "Deflection" }] },
      { name: "note", label: "Note for the report", type: "textarea", placeholder: "optional" },
    ],
  });
  const q: number = load.q + (load.selfWeight ? section.g : 0);
  const checks: string[] = load.checks;
  const M = (q * span ** 2) / 8; // kN·m
  const V = (q * span) / 2; // kN
  const rows: Array<{ name: string; value: string; limit: string; ratio: number }> = [];
  if (checks.includes("bending")) {
    const sigma = (M * 1e6) / section.W; // MPa
    rows.push({ name: "Bending σ", value: `${fmt(sigma)} MPa`, limit: `${fmt(fy / gammaM0)} MPa`, ratio: sigma / (fy / gammaM0) });
  }
  if (checks.includes("shear")) {
    const Av = section.W / 100; // a rough web area, mm²
    const tau = (V * 1e3) / Av;
    const limit = fy / Math.sqrt(3) / gammaM0;
    rows.push({ name: "Shear τ", value: `${fmt(tau)} MPa`, limit: `${fmt(limit)} MPa`, ratio: tau / limit });
  }
  if (checks.includes("deflection")) {
    const w = (5 * q * (span * 1e3) ** 4) / (384 * 210e3 * section.I); // mm
    const limit = (span * 1e3) / 250;
    rows.push({ name: "Deflection w", value: `${fmt(w, 1)} mm`, limit: `L/250 = ${fmt(limit, 1)} mm`, ratio: w / limit });
  }
  const utilization = Math.max(0, ...rows.map((r) => r.ratio));
  yield html`<h3>Results</h3>
<p>Design load q = ${fmt(q)} kN/m${load.selfWeight ? " (with self-weight)" : ""}; M = q·L²/8 = <b>${fmt(M)} kN·m</b>; V = q·L/2 = <b>${fmt(V)} kN</b>.</p>
<table><tr><th>Check</th><th>Value</th><th>Limit</th><th>Ratio</th></tr>
${rows.map((r) => html`<tr><td>${r.name}</td><td>${r.value}</td><td>${r.limit}</td><td class="${r.ratio <= 1 ? "ok" : "fail"}">${fmt(r.ratio)}</td></tr>`)}
</table>
<p class="${utilization <= 1 ? "ok" : "fail"}">${utilization <= 1 ? "The beam passes" : "The beam fails"} (utilization ${fmt(utilization * 100, 0)} %).</p>
${load.note ? html`<p><i>Note:</i> ${load.note}</p>` : ""}`;
  return { ok: utilization <= 1, utilization: Number(utilization.toFixed(3)), M: Number(M.toFixed(2)) };
}
