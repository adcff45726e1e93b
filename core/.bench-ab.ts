import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker as createNew } from "./app";
import { createBunker as createOld } from "./.app-orig";
const LOAD = "/work/main/bench/load.ts";
const SECONDS = 3, ROUNDS = Number(process.env.R ?? 5);
const opts = () => ({ builtins: false, config: { dataDir: mkdtempSync(join(tmpdir(), "ab-")), server: { port: 0 }, log: { level: "silent" } }, env: {}, logSink: () => {} });
const a = await createOld(opts() as never); const ua = (await a.listen()).url;
const b = await createNew(opts() as never); const ub = (await b.listen()).url;
async function measure(url: string) {
  const cpu0 = process.cpuUsage();
  const p = Bun.spawn([process.execPath, LOAD, `${url}/health`, String(SECONDS), "32"], { stdout: "pipe" });
  const out = JSON.parse(await new Response(p.stdout).text());
  const cpu = process.cpuUsage(cpu0);
  return { rps: out.done / SECONDS, cpu: (cpu.user + cpu.system) / out.done };
}
await measure(ua); await measure(ub);
const res: Record<string, { rps: number; cpu: number }[]> = { before: [], after: [] };
for (let i = 0; i < ROUNDS; i++) { res.before!.push(await measure(ua)); res.after!.push(await measure(ub)); }
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
for (const [k, v] of Object.entries(res)) console.log(k, med(v.map((r) => r.rps)).toFixed(0), "req/s", med(v.map((r) => r.cpu)).toFixed(2), "µs CPU/req", v.map((r) => r.rps.toFixed(0)).join(","));
await a.stop(); await b.stop();
