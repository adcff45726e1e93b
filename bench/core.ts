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
// A second baseline: bare Elysia that only reads one request header. Honouring a sent X-Request-Id makes Bun build
// the request's Headers, which the one-route app never does; this row shows what that alone costs.
const reading = new Elysia()
  .get("/health", ({ request }) => ({ status: "ok", version: "0.1.0", uptime_seconds: 0, plugins: {}, warnings: [], id: request.headers.get("x-request-id") }))
  .listen({ hostname: "127.0.0.1", port: 0 });
const readingUrl = `http://127.0.0.1:${reading.server!.port}`;

/** Requests per second, and the server's CPU per request (this process's CPU over the round: the servers live
 * here, the load generator does not). On 2 shared cores the CPU figure is the steadier of the two. */
async function measure(url: string): Promise<{ rps: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const p = Bun.spawn([process.execPath, LOAD, `${url}/health`, String(SECONDS), String(CONCURRENCY)], { stdout: "pipe" });
  const out = JSON.parse(await new Response(p.stdout).text()) as { done: number; failed: number };
  const cpu = process.cpuUsage(cpu0);
  if (out.failed) throw new Error(`${out.failed} requests failed against ${url}`);
  return { rps: out.done / SECONDS, cpuUs: (cpu.user + cpu.system) / out.done };
}

const targets = { bare: bareUrl, bunker: bunkerUrl, reading: readingUrl };
for (const url of Object.values(targets)) await measure(url); // warm-up: JITs and connections
const results = { bare: [] as Awaited<ReturnType<typeof measure>>[], bunker: [] as Awaited<ReturnType<typeof measure>>[], reading: [] as Awaited<ReturnType<typeof measure>>[] };
for (let i = 0; i < ROUNDS; i++) for (const [name, url] of Object.entries(targets)) results[name as keyof typeof targets].push(await measure(url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rps = (name: keyof typeof targets) => median(results[name].map((r) => r.rps));
const cpu = (name: keyof typeof targets) => median(results[name].map((r) => r.cpuUs));
const row = (label: string, name: keyof typeof targets) =>
  console.log(`  ${label.padEnd(31)}: ${rps(name).toFixed(0).padStart(6)} req/s  ${cpu(name).toFixed(2)} µs CPU/req   rounds ${results[name].map((r) => r.rps.toFixed(0)).join(", ")}`);
console.log(`GET /health, ${CONCURRENCY} connections, ${ROUNDS}×${SECONDS}s rounds (medians)`);
row("bare Elysia", "bare");
row("bare Elysia reading one header", "reading");
row("Bunker", "bunker");
console.log(`  ratio Bunker/bare: ${(rps("bunker") / rps("bare")).toFixed(3)} by req/s, ${(cpu("bare") / cpu("bunker")).toFixed(3)} by server CPU  (goal ≥ 0.9)`);
console.log(`  ratio Bunker/header-reading Elysia: ${(rps("bunker") / rps("reading")).toFixed(3)} by req/s, ${(cpu("reading") / cpu("bunker")).toFixed(3)} by server CPU`);
bare.stop(true);
reading.stop(true);
await bunker.stop();
rmSync(dataDir, { recursive: true, force: true });
