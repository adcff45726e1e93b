// env-fabric benchmark: create-with-one-package from a warm uv cache, and the API overhead of a run.
// Baselines measured here too: the same uv commands run by hand, and the env's interpreter run directly.
// Run: bun bench/env-fabric.ts   (offline: the packages come from a --find-links index built at start)
import { join } from "node:path";
import { isolationPlugin, testBunker, UV_CACHE, TEST_ROOT, offlineIndex } from "../plugins/env-fabric/test-support";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function sh(argv: string[], cwd: string) {
  const proc = Bun.spawn(argv, { cwd, stdout: "ignore", stderr: "pipe", env: { ...process.env, UV_CACHE_DIR: UV_CACHE, UV_PYTHON_DOWNLOADS: "never" } });
  if ((await proc.exited) !== 0) throw new Error(`${argv.join(" ")}: ${await new Response(proc.stderr).text()}`);
}

const wheels = await offlineIndex();

/** Baseline: what uv itself costs for the same project (pyproject written, relocatable venv, uv add). */
async function createByHand(i: number): Promise<number> {
  const dir = join(TEST_ROOT, `raw-${i}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "pyproject.toml"), `[project]\nname = "raw-${i}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n`);
  const t0 = performance.now();
  await sh(["uv", "venv", "--no-config", "--relocatable", "--python", "3.11", ".venv"], dir);
  await sh(["uv", "add", "--no-config", "--no-index", "--find-links", wheels, "--", "bunkerdemo-a"], dir);
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}
const rawCreate: number[] = [];

const report: Array<[string, string]> = [];
for (const mode of ["unisolated", "isolated"] as const) {
  const iso = mode === "isolated" ? await isolationPlugin() : null;
  if (mode === "isolated" && !iso) {
    report.push(["isolated run", "skipped: bubblewrap isolation not available"]);
    continue;
  }
  const tb = await testBunker({ extraPlugins: iso ? [iso] : [] });
  try {
    const create: number[] = [];
    if (mode === "unisolated") {
      for (let i = 0; i < ROUNDS + 1; i++) {
        // Interleaved with the by-hand baseline so both see the same machine load; round 0 warms the cache.
        const byHand = await createByHand(i);
        if (i > 0) rawCreate.push(byHand);
        const t0 = performance.now();
        const res = await tb.call("POST", "/envs", { workflow_id: "bench", node_id: `n${i}`, packages: ["bunkerdemo-a"] });
        if (res.status !== 201) throw new Error(JSON.stringify(res.body));
        if (i > 0) create.push(performance.now() - t0);
      }
    } else {
      await tb.call("POST", "/envs", { workflow_id: "bench", node_id: "n0", packages: ["bunkerdemo-a"] });
    }
    const python = join(tb.localEnvs, "bench", "n0", "v1", ".venv", "bin", "python");
    const direct: number[] = [];
    const api: number[] = [];
    const isolatedDirect: number[] = [];
    const envDir = join(tb.localEnvs, "bench", "n0", "v1");
    const prefix = join(readFileSync(join(envDir, ".venv", "pyvenv.cfg"), "utf8").match(/^home = (.+)$/m)![1]!, "..");
    for (let i = 0; i < ROUNDS * 2 + 2; i++) {
      let t0 = performance.now();
      await sh([python, "-c", "pass"], TEST_ROOT);
      if (i > 1) direct.push(performance.now() - t0);
      t0 = performance.now();
      const res = await tb.call("POST", "/envs/bench/n0/run", { code: "pass" });
      if (res.status !== 200 || res.body.exit_code !== 0) throw new Error(JSON.stringify(res.body));
      if (i > 1) api.push(performance.now() - t0);
      if (iso) {
        t0 = performance.now();
        await iso.service.run({ argv: [python, "-c", "pass"], mounts: [{ host: envDir, sandbox: envDir }, { host: prefix, sandbox: prefix }] });
        if (i > 1) isolatedDirect.push(performance.now() - t0);
      }
    }
    if (create.length) {
      report.push(["create + 1 package, warm cache (API) p50/p90", `${fmt(p50(create))} / ${fmt(p90(create))}  (goal ≤ 500 ms)`]);
      report.push(["  baseline: uv venv + uv add by hand p50", `${fmt(p50(rawCreate))}  → API/uv ratio ${(p50(create) / p50(rawCreate)).toFixed(2)}`]);
    }
    report.push([`run "pass" through the API (${mode}) p50`, fmt(p50(api))]);
    report.push([`  baseline: env interpreter run directly p50`, fmt(p50(direct))]);
    report.push([`  run overhead (${mode}) p50`, `${fmt(p50(api) - p50(direct))}  ratio ${(p50(api) / p50(direct)).toFixed(2)}  (goal ≤ 30 ms)`]);
    if (isolatedDirect.length) {
      report.push([`  baseline: isolation.run of the interpreter, no API p50`, fmt(p50(isolatedDirect))]);
      report.push([`  env-fabric's own share (API − isolation.run) p50`, fmt(p50(api) - p50(isolatedDirect))]);
    }
  } finally {
    await tb.close();
  }
}

console.log(`env-fabric benchmark (${ROUNDS} rounds, uv cache warm, offline index)`);
for (const [k, v] of report) console.log(`${k.padEnd(52)} ${v}`);
process.exit(0);
