// The /calc page: one self-contained HTML document (no build step, no CDN). Windows become forms; the report grows.

const STYLE = `
:root { --ink:#1d2433; --muted:#5b6478; --line:#dde2ec; --bg:#f4f6fa; --card:#fff; --accent:#2456c7; --bad:#b3261e; --good:#1e7b3a; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; color:var(--ink); background:var(--bg); }
header { background:#1d2433; color:#fff; padding:12px 24px; display:flex; align-items:baseline; gap:12px; }
header h1 { font-size:18px; margin:0; } header span { color:#aab3c5; font-size:13px; }
main { display:grid; grid-template-columns: 280px 1fr; gap:20px; padding:20px 24px; max-width:1280px; margin:0 auto; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 18px; margin-bottom:16px; }
.card > h2 { font-size:15px; margin:0 0 10px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
#sheets ul { list-style:none; margin:0; padding:0; }
#sheets li.file { margin:8px 0 4px; font-weight:600; font-size:13px; color:var(--muted); word-break:break-all; }
#sheets button.fn { display:block; width:100%; text-align:left; background:none; border:1px solid transparent; border-radius:6px; padding:6px 8px; cursor:pointer; font:inherit; color:var(--ink); }
#sheets button.fn:hover, #sheets button.fn.selected { background:#eaf0fd; border-color:#c9d6f7; }
#sheets small { display:block; color:var(--muted); font-size:12px; }
label.param { display:block; font-size:13px; color:var(--muted); margin-top:10px; }
textarea, input[type=text], input[type=number], input[type=password], select { width:100%; font:inherit; padding:7px 9px; border:1px solid #c6cdda; border-radius:6px; background:#fff; }
textarea { min-height:70px; resize:vertical; }
button.primary, button.secondary { font:inherit; border-radius:6px; padding:7px 16px; cursor:pointer; border:1px solid var(--accent); }
button.primary { background:var(--accent); color:#fff; } button.secondary { background:#fff; color:var(--accent); }
.actions { display:flex; gap:10px; margin-top:14px; }
#statusbar { display:flex; gap:12px; align-items:center; font-size:13px; color:var(--muted); margin-bottom:12px; }
.badge { display:inline-block; padding:2px 10px; border-radius:999px; font-size:12px; font-weight:600; background:#e8ebf2; color:var(--ink); }
.badge.waiting_input { background:#fff4d6; color:#7a5400; } .badge.completed { background:#dcf3e3; color:var(--good); }
.badge.error, .badge.cancelled { background:#fbe2e0; color:var(--bad); }
#window { border-left:4px solid var(--accent); }
#window .caption { color:var(--muted); margin:-4px 0 10px; }
.field { margin:12px 0; } .field > .label { display:block; font-weight:600; margin-bottom:4px; }
.field .req { color:var(--bad); margin-left:2px; }
.field .row { display:flex; align-items:center; gap:8px; } .field .unit { color:var(--muted); white-space:nowrap; }
.field .choices label { display:inline-flex; align-items:center; gap:6px; margin-right:14px; font-weight:400; }
.field.invalid input, .field.invalid select, .field.invalid textarea { border-color:var(--bad); }
.field-error { color:var(--bad); font-size:13px; margin-top:3px; }
#report { min-height:60px; overflow-x:auto; }
#report table { border-collapse:collapse; margin:8px 0; } #report td, #report th { border:1px solid var(--line); padding:4px 10px; text-align:left; }
#report .ok { color:var(--good); font-weight:600; } #report .fail { color:var(--bad); font-weight:600; }
#message { color:var(--bad); } .hidden { display:none; } pre { background:#f1f3f8; padding:8px; border-radius:6px; overflow:auto; }
`;

const SCRIPT = String.raw`
const state = { sessionId: null, selected: null, key: localStorage.getItem("bunker.apiKey") || "" };
const $ = (id) => document.getElementById(id);
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v; else if (k === "className") e.className = v; else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}
async function api(method, path, body) {
  const headers = { "content-type": "application/json" };
  if (state.key) headers.authorization = "Bearer " + state.key;
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) { $("auth").classList.remove("hidden"); }
  return { ok: res.ok, status: res.status, data };
}
function showMessage(text) { $("message").textContent = text || ""; }
async function loadSheets() {
  const { ok, data } = await api("GET", "/sheets");
  const list = $("sheet-list"); list.replaceChildren();
  if (!ok) { showMessage(data.error ? data.error.message : "could not list sheets"); return; }
  if (!data.sheets.length) list.append(el("li", { text: "No sheets in the safe directories." }));
  for (const sheet of data.sheets) {
    list.append(el("li", { className: "file", text: sheet.name }));
    for (const fn of sheet.functions) {
      const b = el("button", { className: "fn", type: "button", "data-file": sheet.file_path, "data-func": fn.name },
        el("span", { text: fn.name }), fn.description ? el("small", { text: fn.description }) : null);
      b.addEventListener("click", () => select(sheet, fn, b));
      list.append(el("li", {}, b));
    }
  }
}
function select(sheet, fn, button) {
  document.querySelectorAll("button.fn").forEach((b) => b.classList.remove("selected"));
  button.classList.add("selected");
  state.selected = { file_path: sheet.file_path, func_name: fn.name };
  $("selected-name").textContent = sheet.name + " → " + fn.name;
  $("start-card").classList.remove("hidden");
}
async function start() {
  if (!state.selected) return;
  let params = {};
  try { params = JSON.parse($("params").value || "{}"); } catch { showMessage("Parameters must be JSON, e.g. {\"span\": 6}"); return; }
  showMessage("");
  const { ok, data } = await api("POST", "/execution/start", { ...state.selected, params });
  if (!ok) { showMessage(data.error ? data.error.message : "start failed"); return; }
  render(data);
}
function render(view) {
  state.sessionId = view.session_id;
  history.replaceState(null, "", "?session=" + encodeURIComponent(view.session_id));
  $("session").classList.remove("hidden");
  $("status").textContent = view.status.replace("_", " ");
  $("status").className = "badge " + view.status;
  $("session-id").textContent = view.session_id;
  $("report").innerHTML = view.html || "<p class=\"muted\">(nothing yet)</p>";
  $("cancel").classList.toggle("hidden", view.status !== "waiting_input");
  const result = $("result");
  result.classList.toggle("hidden", view.result === undefined && !view.error);
  result.replaceChildren();
  if (view.error) result.append(el("p", { className: "fail", text: "Error: " + view.error }));
  if (view.result !== undefined) result.append(el("h2", { text: "Result" }), el("pre", { text: JSON.stringify(view.result, null, 2) }));
  renderWindow(view.status === "waiting_input" ? view.ui : null);
}
function fieldInput(f) {
  const id = "f-" + f.name, common = { id, name: f.name, placeholder: f.placeholder, "data-field": f.name };
  const d = f.default;
  switch (f.type) {
    case "number": return el("input", { ...common, type: "number", step: f.step ?? "any", min: f.min, max: f.max, value: d ?? "" });
    case "textarea": { const t = el("textarea", common); t.value = d ?? ""; return t; }
    case "boolean": return el("input", { ...common, type: "checkbox", checked: d === true });
    case "selectOne": {
      const s = el("select", common);
      if (!f.required || d === undefined) s.append(el("option", { value: "", text: f.placeholder || "— choose —" }));
      for (const o of f.options) s.append(el("option", { value: o.value, text: o.label, selected: o.value === d }));
      return s;
    }
    case "selectMany": {
      const box = el("div", { className: "choices", id, "data-field": f.name });
      const chosen = Array.isArray(d) ? d : [];
      for (const o of f.options) box.append(el("label", {}, el("input", { type: "checkbox", name: f.name, value: o.value, checked: chosen.includes(o.value) }), el("span", { text: o.label })));
      return box;
    }
    default: return el("input", { ...common, type: "text", value: d ?? "" });
  }
}
function renderWindow(win) {
  const card = $("window"), form = $("window-form");
  card.classList.toggle("hidden", !win);
  form.replaceChildren();
  if (!win) return;
  $("window-title").textContent = win.title;
  $("window-caption").textContent = win.caption || "";
  for (const f of win.fields) {
    const input = fieldInput(f);
    const label = el("label", { className: "label", for: f.type === "selectMany" ? undefined : "f-" + f.name, text: f.label },
      f.required ? el("span", { className: "req", text: "*" }) : null);
    const row = f.type === "boolean" ? el("div", { className: "row" }, input, label) : el("div", { className: "row" }, input, f.unit ? el("span", { className: "unit", text: f.unit }) : null);
    form.append(el("div", { className: "field", "data-name": f.name }, f.type === "boolean" ? null : label, row, el("div", { className: "field-error", "data-error-for": f.name })));
  }
  form.append(el("div", { className: "actions" }, el("button", { className: "primary", type: "submit", id: "submit", text: "Continue" })));
  state.window = win;
  const first = form.querySelector("input,select,textarea"); if (first) first.focus();
}
function collect(win) {
  const form = $("window-form"), values = {};
  for (const f of win.fields) {
    if (f.type === "selectMany") values[f.name] = [...form.querySelectorAll("input[name=\"" + f.name + "\"]:checked")].map((i) => i.value);
    else if (f.type === "boolean") values[f.name] = form.querySelector("#f-" + f.name).checked;
    else {
      const v = form.querySelector("#f-" + f.name).value;
      if (v === "") continue;
      values[f.name] = f.type === "number" ? Number(v) : v;
    }
  }
  return values;
}
async function submit(ev) {
  ev.preventDefault();
  const win = state.window; if (!win) return;
  document.querySelectorAll(".field").forEach((x) => x.classList.remove("invalid"));
  document.querySelectorAll(".field-error").forEach((x) => (x.textContent = ""));
  $("submit").disabled = true;
  const { ok, data } = await api("POST", "/execution/resume", { session_id: state.sessionId, user_input: collect(win) });
  $("submit") && ($("submit").disabled = false);
  if (ok) { showMessage(""); render(data); return; }
  const fields = data.error && data.error.details && data.error.details.fields;
  if (fields) {
    for (const [name, msg] of Object.entries(fields)) {
      const slot = document.querySelector("[data-error-for=\"" + name + "\"]");
      if (slot) { slot.textContent = msg; slot.parentElement.classList.add("invalid"); } else showMessage(msg);
    }
  } else showMessage(data.error ? data.error.message : "resume failed");
}
async function cancel() {
  const { ok, data } = await api("POST", "/execution/cancel", { session_id: state.sessionId });
  if (ok) render(data); else showMessage(data.error ? data.error.message : "cancel failed");
}
$("start").addEventListener("click", start);
$("window-form").addEventListener("submit", submit);
$("cancel").addEventListener("click", cancel);
$("save-key").addEventListener("click", () => { state.key = $("key").value.trim(); localStorage.setItem("bunker.apiKey", state.key); $("auth").classList.add("hidden"); loadSheets(); });
loadSheets();
const resumeId = new URLSearchParams(location.search).get("session");
if (resumeId) api("GET", "/execution/status/" + encodeURIComponent(resumeId)).then(({ ok, data }) => ok && render(data));
`;

export function renderPage(options: { apiBase: string; nonce: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Calculation sheets · Bunker</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Calculation sheets</h1><span>UzonCalc on Bunker</span></header>
<main>
  <aside>
    <section class="card" id="sheets"><h2>Sheets</h2><ul id="sheet-list"></ul></section>
    <section class="card hidden" id="auth"><h2>API key</h2><input type="password" id="key" placeholder="bk_..."><div class="actions"><button class="secondary" type="button" id="save-key">Use key</button></div></section>
  </aside>
  <div>
    <section class="card hidden" id="start-card">
      <h2>Run</h2>
      <div id="selected-name"></div>
      <label class="param" for="params">Parameters (JSON)</label>
      <textarea id="params" spellcheck="false">{}</textarea>
      <div class="actions"><button class="primary" type="button" id="start">Start</button></div>
    </section>
    <p id="message" role="alert"></p>
    <section class="hidden" id="session">
      <div id="statusbar"><span class="badge" id="status"></span><span>session <code id="session-id"></code></span>
        <button class="secondary hidden" type="button" id="cancel">Cancel</button></div>
      <section class="card" id="window"><h2 id="window-title"></h2><p class="caption" id="window-caption"></p><form id="window-form" novalidate></form></section>
      <section class="card"><h2>Report</h2><div id="report"></div></section>
      <section class="card hidden" id="result"></section>
    </section>
  </div>
</main>
<script nonce="${options.nonce}">const API = ${JSON.stringify(options.apiBase)};
${SCRIPT}</script>
</body>
</html>`;
}
