// liteboxd benchmark: create→running latency and exec round trip through the LiteBoxd API (real port, typed client),
// against `true` run directly with bwrap from this script; the port gateway's round trip against the same request
// made inside the sandbox; the prepull time of an offline busybox OCI archive. Run: bun bench/liteboxd.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import { LiteBoxdClient } from "../plugins/liteboxd/client";
import liteboxd from "../plugins/liteboxd/index";
import { createBwrapIsolation } from "../plugins/liteboxd/isolation";
import { readFileSync } from "node:fs";
import { buildBusyboxArchive } from "../plugins/liteboxd/testdata/busybox-image";

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
await warm.client.sandbox.waitForReady(id, { pollIntervalMs: 5 });
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

// ---- the port gateway: a small HTTP response through /sandbox/:id/port/8080, vs the same request inside ----
const GW_RUNS = Number(process.env.GW_RUNS ?? 300);
const gw = await server(0);
await gw.client.template.create({
  name: "app",
  spec: {
    image: "host", ttl: 0,
    command: ["python3", "/workspace/app_server.py"],
    files: [{ destination: "/workspace/app_server.py", content: readFileSync(join(import.meta.dir, "../plugins/liteboxd/testdata/app_server.py"), "utf8") }],
    readinessProbe: { httpGet: { path: "/hello", port: 8080 }, periodSeconds: 0, failureThreshold: 500 },
  } as never,
});
const app = await gw.client.sandbox.create("app");
await gw.client.sandbox.waitForReady(app.id, { pollIntervalMs: 10 });
const gwSamples: number[] = [];
for (let i = 0; i < GW_RUNS + 20; i++) {
  const t0 = performance.now();
  const res = await fetch(`${app.accessUrl}/port/8080/hello`, { headers: { "x-access-token": app.accessToken! } });
  await res.text();
  if (res.status !== 200) throw new Error(`gateway answered ${res.status}`);
  if (i >= 20) gwSamples.push(performance.now() - t0);
}
const gateway = stats(gwSamples);
const inside = await gw.client.sandbox.execute(app.id, ["python3", "-c", `
import http.client, time
c = http.client.HTTPConnection("127.0.0.1", 8080)
s = []
for i in range(${GW_RUNS + 20}):
    t = time.perf_counter(); c.request("GET", "/hello"); c.getresponse().read(); s.append((time.perf_counter() - t) * 1000)
print(" ".join(str(x) for x in s[20:]))
`], { timeoutMs: 120_000 });
const insideStats = stats(inside.stdout.trim().split(" ").map(Number));
await gw.bunker.stop();
rmSync(gw.dir, { recursive: true, force: true });
console.log("\nport gateway: GET /hello (small JSON) on port 8080 inside the sandbox, keep-alive");
console.log(`  through gateway   ${fmt(gateway)}`);
console.log(`  inside sandbox    ${fmt(insideStats)}   (python http.client on the sandbox's loopback)`);
console.log(`  ratio gateway / inside (p50): ${(gateway.p50 / insideStats.p50).toFixed(1)}×  (+${(gateway.p50 - insideStats.p50).toFixed(2)} ms)`);

// ---- prepull of the offline busybox OCI archive (2 layers): POST → completed, cache emptied between runs ----
const PULL_RUNS = Number(process.env.PULL_RUNS ?? 10);
const imgDir = mkdtempSync(join(tmpdir(), "liteboxd-bench-img-"));
const archive = await buildBusyboxArchive(imgDir);
const archiveKiB = (Bun.file(archive).size / 1024) | 0;
const pull = await server(0);
const pullSamples: number[] = [];
for (let i = 0; i < PULL_RUNS; i++) {
  const t0 = performance.now();
  const task = await pull.client.prepull.create(archive);
  for (;;) {
    const t = await pull.client.prepull.get(task.id);
    if (t.status === "completed") break;
    if (t.status === "failed") throw new Error(`prepull failed: ${t.error}`);
    await Bun.sleep(2);
  }
  pullSamples.push(performance.now() - t0);
  await pull.client.prepull.delete(task.id);
}
const pullStats = stats(pullSamples);
await pull.bunker.stop();
rmSync(pull.dir, { recursive: true, force: true });
rmSync(imgDir, { recursive: true, force: true });
console.log(`\nprepull of the busybox OCI archive (${archiveKiB} KiB, 2 layers; skopeo copy + umoci unpack)`);
console.log(`  POST → completed  ${fmt(pullStats)}`);
