// liteboxd benchmark: create→running latency and exec round trip through the LiteBoxd API (real port, typed client),
// against `true` run directly with bwrap from this script. Run: bun bench/liteboxd.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import { LiteBoxdClient } from "../plugins/liteboxd/client";
import liteboxd from "../plugins/liteboxd/index";
import { createBwrapIsolation } from "../plugins/liteboxd/isolation";

const RUNS = Number(process.env.RUNS ?? 60);
const EXEC_RUNS = Number(process.env.EXEC_RUNS ?? 200);

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50: at(0.5), p95: at(0.95), min: s[0]!, max: s.at(-1)! };
}
const fmt = (x: { n: number; p50: number; p95: number; min: number; max: number }) =>
  `n=${x.n}  p50 ${x.p50.toFixed(2)} ms  p95 ${x.p95.toFixed(2)} ms  (min ${x.min.toFixed(2)}, max ${x.max.toFixed(2)})`;

async function server(warmPool: number): Promise<{ bunker: Bunker; client: LiteBoxdClient; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "liteboxd-bench-"));
  const bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd],
    config: { dataDir: dir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { warmPool } } },
  });
  await bunker.listen();
  const client = new LiteBoxdClient({ baseUrl: `${bunker.baseUrl}/api/v1` });
  await client.template.create({ name: "bench", spec: { image: "host", ttl: 0 } });
  return { bunker, client, dir };
}

async function createToRunning(client: LiteBoxdClient, runs: number, pauseMs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const { id } = await client.sandbox.create("bench");
    for (;;) {
      const s = await client.sandbox.get(id);
      if (s.status === "running") break;
      if (s.status !== "pending") throw new Error(`sandbox ${id} is ${s.status}: ${s.status_reason}`);
      await Bun.sleep(2); // poll every ~2 ms without starving the sandbox start of CPU
    }
    samples.push(performance.now() - t0);
    await client.sandbox.delete(id);
    if (pauseMs) await Bun.sleep(pauseMs);
  }
  return samples;
}

async function timeSpawn(argv: string[], runs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
    await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).arrayBuffer(), p.exited]);
    if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${p.exitCode}`);
    samples.push(performance.now() - t0);
  }
  return samples;
}

console.log(`liteboxd benchmark (${navigator.hardwareConcurrency} cpus, bun ${Bun.version})\n`);

// Baselines, from this script: the plainest bwrap, then the full hardened spawn the isolation service does.
const rawBwrap = stats(await timeSpawn(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"], EXEC_RUNS));
const iso = createBwrapIsolation();
const isoSamples: number[] = [];
for (let i = 0; i < Math.min(EXEC_RUNS, 100); i++) isoSamples.push((await iso.run({ argv: ["true"], limits: { memoryMb: 512, cpus: 0.5, pids: 512 } })).durationMs);
const isoRun = stats(isoSamples);

const warm = await server(2);
await Bun.sleep(500); // let the pool fill
// One create every ~200 ms so each finds a pre-started sandbox: this measures latency, not sustained throughput.
const warmCreate = stats(await createToRunning(warm.client, RUNS, 200));
const { id } = await warm.client.sandbox.create("bench");
await warm.client.sandbox.waitForReady(id, { pollInterval: 0.005 });
const execSamples: number[] = [];
for (let i = 0; i < EXEC_RUNS; i++) {
  const t0 = performance.now();
  const r = await warm.client.sandbox.execute(id, ["true"]);
  if (r.exit_code !== 0) throw new Error("exec true failed");
  execSamples.push(performance.now() - t0);
}
const exec = stats(execSamples);
await warm.bunker.stop();
rmSync(warm.dir, { recursive: true, force: true });

const cold = await server(0);
const coldCreate = stats(await createToRunning(cold.client, RUNS, 0));
await cold.bunker.stop();
rmSync(cold.dir, { recursive: true, force: true });

console.log("create → running (template image host, HTTP create + GET polled every 2 ms until status running)");
console.log(`  warm pool         ${fmt(warmCreate)}   goal p50 ≤ 25 ms: ${warmCreate.p50 <= 25 ? "met" : "NOT met"}`);
console.log(`  no pool (cold)    ${fmt(coldCreate)}`);
console.log("\nexec round trip of `true`");
console.log(`  API exec          ${fmt(exec)}`);
console.log(`  raw bwrap true    ${fmt(rawBwrap)}`);
console.log(`  isolation.run     ${fmt(isoRun)}   (hardened spawn: cgroups, setpriv, masks, own netns)`);
const ratio = exec.p50 / rawBwrap.p50;
console.log(`\n  ratio API exec / raw bwrap (p50): ${ratio.toFixed(2)}×   goal ≤ 1.5×: ${ratio <= 1.5 ? "met" : "NOT met"}`);
console.log(`  ratio API exec / raw bwrap (p95): ${(exec.p95 / rawBwrap.p95).toFixed(2)}×`);
