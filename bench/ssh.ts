// ssh-gateway benchmark: `ssh … true` from process start to exit through the gateway (a new connection each time,
// and over a reused ControlMaster connection), against the same `true` through the HTTP exec route (a `curl`
// process, and an in-process fetch), all measured here, alternating. Run: bun bench/ssh.ts
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker } from "bunker/core";
import liteboxd from "../plugins/liteboxd/index";
import sshGateway from "../plugins/ssh-gateway/index";

const RUNS = Number(process.env.RUNS ?? 40);

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50: at(0.5), p95: at(0.95), min: s[0]!, max: s.at(-1)! };
}
const fmt = (x: ReturnType<typeof stats>) =>
  `n=${x.n}  p50 ${x.p50.toFixed(2)} ms  p95 ${x.p95.toFixed(2)} ms  (min ${x.min.toFixed(2)}, max ${x.max.toFixed(2)})`;

const dir = mkdtempSync(join(tmpdir(), "ssh-bench-"));
const bunker = await createBunker({
  builtins: false, plugins: [liteboxd, sshGateway],
  config: { dataDir: join(dir, "data"), log: { level: "silent" }, server: { port: 0 }, plugins: { "ssh-gateway": { port: 0 } } },
});
await bunker.listen();
const api = bunker.baseUrl;
const json = { "content-type": "application/json" };
const post = (path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) });

const keyFile = join(dir, "id_ed25519");
Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
await post("/ssh/keys", { publicKey: readFileSync(`${keyFile}.pub`, "utf8") });
await post("/api/v1/templates", { name: "bench", spec: { image: "host" } });
const { id } = (await (await post("/api/v1/sandboxes", { template: "bench" })).json()) as { id: string };
for (let i = 0; i < 3000; i++) {
  const s = (await (await fetch(`${api}/api/v1/sandboxes/${id}`)).json()) as { status: string };
  if (s.status === "running") break;
  await Bun.sleep(10);
}
const { port } = (await (await fetch(`${api}/ssh`)).json()) as { port: number };

const control = join(dir, "cm");
const sshBase = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", `UserKnownHostsFile=${join(dir, "kh")}`, "-o", "BatchMode=yes",
  "-o", "IdentitiesOnly=yes", "-i", keyFile, "-p", String(port)];
const argvs = {
  ssh: [...sshBase, `${id}@127.0.0.1`, "true"],
  sshReused: [...sshBase, "-o", `ControlPath=${control}`, `${id}@127.0.0.1`, "true"],
  curl: ["curl", "-sf", "-o", "/dev/null", "-X", "POST", "-H", "content-type: application/json", "-d", '{"command":["true"]}', `${api}/api/v1/sandboxes/${id}/exec`],
};
const master = Bun.spawn([...sshBase, "-M", "-N", "-o", `ControlPath=${control}`, `${id}@127.0.0.1`], { stdout: "ignore", stderr: "ignore" });

async function timeProcess(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe" });
  const code = await p.exited;
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv[0]} exited ${code}: ${await new Response(p.stderr).text()}`);
  return ms;
}
async function timeFetch(): Promise<number> {
  const t0 = performance.now();
  const r = await post(`/api/v1/sandboxes/${id}/exec`, { command: ["true"] });
  const body = (await r.json()) as { exit_code: number };
  if (body.exit_code !== 0) throw new Error("exec failed");
  return performance.now() - t0;
}

for (let i = 0; i < 200 && !(await Bun.file(control).exists()); i++) await Bun.sleep(25);
for (let i = 0; i < 3; i++) { // warm-up
  await timeProcess(argvs.ssh);
  await timeProcess(argvs.sshReused);
  await timeProcess(argvs.curl);
  await timeFetch();
}
const samples = { ssh: [] as number[], sshReused: [] as number[], curl: [] as number[], fetch: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  samples.ssh.push(await timeProcess(argvs.ssh));
  samples.sshReused.push(await timeProcess(argvs.sshReused));
  samples.curl.push(await timeProcess(argvs.curl));
  samples.fetch.push(await timeFetch());
}
const s = { ssh: stats(samples.ssh), sshReused: stats(samples.sshReused), curl: stats(samples.curl), fetch: stats(samples.fetch) };
console.log(`\`true\` in a sandbox, start to exit, ${RUNS} runs each (alternating)`);
console.log(`  ssh, new connection (key exchange + auth): ${fmt(s.ssh)}`);
console.log(`  ssh, reused connection (ControlMaster)   : ${fmt(s.sshReused)}`);
console.log(`  HTTP exec route, curl process            : ${fmt(s.curl)}`);
console.log(`  HTTP exec route, in-process fetch        : ${fmt(s.fetch)}`);
console.log(`  ratio ssh new / curl    (p50): ${(s.ssh.p50 / s.curl.p50).toFixed(2)}`);
console.log(`  ratio ssh reused / curl (p50): ${(s.sshReused.p50 / s.curl.p50).toFixed(2)}`);
console.log(`  ratio ssh new / fetch   (p50): ${(s.ssh.p50 / s.fetch.p50).toFixed(2)}`);

master.kill();
await master.exited;
await bunker.stop();
rmSync(dir, { recursive: true, force: true });
