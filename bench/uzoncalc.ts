// uzoncalc benchmark: start→waiting_input and resume→next window latency per executor (through the HTTP stack),
// and the memory held by 10,000 sessions paused on a window. Baselines measured here: a bare generator step and
// GET /health through the same stack. Run: bun bench/uzoncalc.ts
import { createBunker, type Bunker } from "bunker/core";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import liteboxd from "../plugins/liteboxd/index";
import { IsolatedExecutor } from "../plugins/uzoncalc/drivers/isolated";
import { childProcessSpawner } from "../plugins/uzoncalc/drivers/spawn";
import uzoncalc from "../plugins/uzoncalc/index";

const ROUNDS = 300;
const PAUSED = 10_000;

const root = mkdtempSync(join(tmpdir(), "uzoncalc-bench-"));
const safe = join(root, "safe");
mkdirSync(safe);
const sheet = join(safe, "bench.ts");
writeFileSync(
  sheet,
  `import { html, ui } from "bunker/calc";
export async function* twoWindows(params) {
  yield html\`<p>run \${params.i}</p>\`;
  const a = yield ui.window({ title: "A", fields: [{ name: "x", label: "X", type: "number", required: true, min: 0 }] });
  yield html\`<p>x = \${a.x}</p>\`;
  const b = yield ui.window({ title: "B", fields: [{ name: "y", label: "Y", type: "text" }] });
  return { x: a.x, y: b.y };
}
`,
);
for (const p of [root, safe]) chmodSync(p, 0o755);
chmodSync(sheet, 0o644);

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;
const ms = (x: number) => `${x.toFixed(3)} ms`;

async function post(b: Bunker, path: string, body: unknown) {
  const res = await b.handle(new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  return (await res.json()) as { status: string; session_id: string };
}

async function bunkerFor(executor: "inprocess" | "isolated", sandbox: boolean, name: string) {
  const b = await createBunker({
    builtins: false,
    plugins: sandbox ? [liteboxd, uzoncalc] : [uzoncalc],
    config: { dataDir: join(root, name), log: { level: "silent" }, plugins: { uzoncalc: { executor, safeDirs: [safe], maxSessions: PAUSED * 2 } } },
  });
  await b.start();
  return b;
}

async function latency(b: Bunker) {
  const startT: number[] = [];
  const resumeT: number[] = [];
  for (let i = 0; i < ROUNDS + 20; i++) {
    let t = performance.now();
    const s = await post(b, "/v1/calc/execution/start", { file_path: sheet, func_name: "twoWindows", params: { i } });
    const a = performance.now() - t;
    if (s.status !== "waiting_input") throw new Error(`unexpected ${JSON.stringify(s)}`);
    t = performance.now();
    const r = await post(b, "/v1/calc/execution/resume", { session_id: s.session_id, user_input: { x: i } });
    const c = performance.now() - t;
    if (r.status !== "waiting_input") throw new Error(`unexpected ${JSON.stringify(r)}`);
    await post(b, "/v1/calc/execution/cancel", { session_id: s.session_id });
    if (i >= 20) {
      startT.push(a);
      resumeT.push(c);
    }
  }
  return { start: p50(startT), resume: p50(resumeT), start99: p99(startT), resume99: p99(resumeT) };
}

// Baselines.
async function* bare(): AsyncGenerator<number, void, number> {
  const a = yield 1;
  yield a;
}
const bareT: number[] = [];
for (let i = 0; i < 10_000; i++) {
  const t = performance.now();
  const g = bare();
  await g.next();
  await g.next(i);
  bareT.push(performance.now() - t);
}
const base = await bunkerFor("inprocess", false, "baseline");
const healthT: number[] = [];
for (let i = 0; i < 2_000; i++) {
  const t = performance.now();
  await (await base.handle(new Request("http://localhost/health"))).json();
  healthT.push(performance.now() - t);
}
await base.stop();
const health = p50(healthT);
console.log(`baseline: bare generator start+resume p50 ${ms(p50(bareT))}; GET /health through the stack p50 ${ms(health)}`);

const results: Record<string, { start: number; resume: number; start99: number; resume99: number }> = {};
for (const [label, executor, sandbox] of [
  ["in-process", "inprocess", false],
  ["isolated (worker process)", "isolated", false],
  ["isolated (worker in bwrap sandbox)", "isolated", true],
] as const) {
  const b = await bunkerFor(executor, sandbox, label.replace(/\W+/g, "-"));
  results[label] = await latency(b);
  await b.stop();
  const r = results[label]!;
  console.log(
    `${label.padEnd(36)} start→waiting_input p50 ${ms(r.start)} (p99 ${ms(r.start99)}, ${(r.start / health).toFixed(1)}× /health); ` +
      `resume→next window p50 ${ms(r.resume)} (p99 ${ms(r.resume99)}, ${(r.resume / health).toFixed(1)}× /health)`,
  );
}

// Memory: 10,000 sessions paused on a window, in-process, through the whole stack (service, live map, database).
{
  const b = await bunkerFor("inprocess", false, "memory");
  // Warm up module loading and caches before the first measurement.
  await post(b, "/v1/calc/execution/start", { file_path: sheet, func_name: "twoWindows", params: { i: -1 } });
  Bun.gc(true);
  const before = process.memoryUsage();
  const t = performance.now();
  for (let i = 0; i < PAUSED; i++) {
    const s = await post(b, "/v1/calc/execution/start", { file_path: sheet, func_name: "twoWindows", params: { i } });
    if (s.status !== "waiting_input") throw new Error("not paused");
  }
  const elapsed = performance.now() - t;
  Bun.gc(true);
  const after = process.memoryUsage();
  const heap = (after.heapUsed - before.heapUsed) / PAUSED;
  const rss = (after.rss - before.rss) / PAUSED;
  console.log(
    `in-process: ${PAUSED} paused sessions in ${(elapsed / 1000).toFixed(1)} s; held per session: heap ${(heap / 1024).toFixed(2)} KB, rss ${(rss / 1024).toFixed(2)} KB (goal ≤ 20 KB)`,
  );
  await b.stop();
}

// Memory in the isolated worker: its own heap per paused generator (measured inside the worker after a full GC).
{
  const exec = new IsolatedExecutor({ safeDirs: [safe], stepTimeoutMs: 30_000, spawn: childProcessSpawner() });
  await exec.start({ sessionId: "warm", filePath: sheet, funcName: "twoWindows", params: { i: -1 } });
  const before = await exec.stats();
  for (let i = 0; i < PAUSED; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => exec.start({ sessionId: `s${i + k}`, filePath: sheet, funcName: "twoWindows", params: { i: i + k } })));
  }
  const after = await exec.stats();
  console.log(
    `isolated worker: ${after.sessions - before.sessions} paused generators; held per session: heap ${((after.heapUsed - before.heapUsed) / PAUSED / 1024).toFixed(2)} KB, rss ${((after.rss - before.rss) / PAUSED / 1024).toFixed(2)} KB`,
  );
  await exec.shutdown();
}

rmSync(root, { recursive: true, force: true });
