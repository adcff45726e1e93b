// GET /health requests per second: Bunker (all core hooks, no plugins) vs a bare Elysia app with one route.
// Both servers run in this process; load comes from a separate process (bench/load.ts), alternating A/B rounds.
import { Elysia } from "elysia";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createBunker } from "../core/app";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LOAD = resolve(import.meta.dir, "load.ts");

const dataDir = mkdtempSync(join(tmpdir(), "bunker-bench-"));
const bunker = await createBunker({ builtins: false, config: { dataDir, server: { port: 0 }, log: { level: "silent" } }, env: {}, logSink: () => {} });
const { url: bunkerUrl } = await bunker.listen();
const bare = new Elysia().get("/health", () => ({ status: "ok", version: "0.1.0", uptime_seconds: 0, plugins: {}, warnings: [] })).listen({ hostname: "127.0.0.1", port: 0 });
const bareUrl = `http://127.0.0.1:${bare.server!.port}`;

async function measure(url: string): Promise<number> {
  const p = Bun.spawn([process.execPath, LOAD, `${url}/health`, String(SECONDS), String(CONCURRENCY)], { stdout: "pipe" });
  const out = JSON.parse(await new Response(p.stdout).text()) as { done: number; failed: number };
  if (out.failed) throw new Error(`${out.failed} requests failed against ${url}`);
  return out.done / SECONDS;
}

await measure(bunkerUrl); // warm-up both JITs
await measure(bareUrl);
const results = { bunker: [] as number[], bare: [] as number[] };
for (let i = 0; i < ROUNDS; i++) {
  results.bare.push(await measure(bareUrl));
  results.bunker.push(await measure(bunkerUrl));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const b = median(results.bunker);
const e = median(results.bare);
console.log(`GET /health, ${CONCURRENCY} connections, ${ROUNDS}×${SECONDS}s rounds (median req/s)`);
console.log(`  bare Elysia : ${e.toFixed(0)} req/s   rounds ${results.bare.map((x) => x.toFixed(0)).join(", ")}`);
console.log(`  Bunker      : ${b.toFixed(0)} req/s   rounds ${results.bunker.map((x) => x.toFixed(0)).join(", ")}`);
console.log(`  ratio Bunker/bare: ${(b / e).toFixed(3)}  (goal ≥ 0.9)`);
bare.stop(true);
await bunker.stop();
rmSync(dataDir, { recursive: true, force: true });
