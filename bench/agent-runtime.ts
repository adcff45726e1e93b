// Benchmark: AgentRuntimeApp's /invocations against a bare Bun.serve doing the same work (servers in child
// processes, load from this one), SSE time to first chunk, and client disconnect → generator `finally`; then the same
// invocation through the Bunker host (session → liteboxd port gateway → agent in a bubblewrap sandbox) against the
// same app reached directly.
// Run: bun bench/agent-runtime.ts
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentRuntimeApp } from "bunker/agent";
import { createBunker } from "bunker/core";
import liteboxd from "../plugins/liteboxd/index";
import agentRuntime from "../plugins/agent-runtime/index";

const mode = process.argv[2];

if (mode === "--serve-app") {
  const plain = new AgentRuntimeApp();
  plain.entrypoint((req: { prompt: string; stream?: boolean }) =>
    req.stream
      ? (function* () {
          yield { echo: req.prompt };
        })()
      : { echo: req.prompt },
  );
  const server = plain.run({ port: 0, host: "127.0.0.1" });
  console.log(server.port);
} else if (mode === "--serve-bare") {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== "POST" || url.pathname !== "/invocations") return Response.json({ error: "Not Found" }, { status: 404 });
      const started = performance.now();
      let body: { prompt: string };
      try {
        body = (await request.json()) as { prompt: string };
      } catch {
        return Response.json({ error: "Invalid JSON" }, { status: 400 });
      }
      const requestId = request.headers.get("x-amzn-bedrock-agentcore-runtime-request-id") ?? crypto.randomUUID();
      const result = { echo: body.prompt };
      return Response.json({ result, status: "success", duration: (performance.now() - started) / 1000, metadata: { request_id: requestId } });
    },
  });
  console.log(server.port);
}

async function startChild(flag: string) {
  const child = Bun.spawn([process.execPath, import.meta.path, flag], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return { child, port: Number(new TextDecoder().decode(value).trim()) };
}

async function requestsPerSecond(target: number | string, seconds: number, concurrency: number): Promise<number> {
  const url = typeof target === "number" ? `http://127.0.0.1:${target}/invocations` : `${target}/invocations`;
  const body = JSON.stringify({ prompt: "hello agent" });
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      count++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

async function timeToFirstChunk(target: number | string, runs: number): Promise<number[]> {
  const url = typeof target === "number" ? `http://127.0.0.1:${target}/invocations` : `${target}/invocations`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await fetch(url, { method: "POST", body: JSON.stringify({ prompt: "hi", stream: true }) });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("data:")) text += new TextDecoder().decode((await reader.read()).value);
    times.push(performance.now() - started);
    await reader.cancel();
  }
  return times;
}

async function disconnectToFinally(runs: number): Promise<number[]> {
  const app = new AgentRuntimeApp();
  let resolveFinally: ((at: number) => void) | undefined;
  app.entrypoint(async function* () {
    try {
      for (let i = 0; ; i++) {
        await Bun.sleep(1);
        yield i;
      }
    } finally {
      resolveFinally?.(performance.now());
    }
  });
  const server = app.run({ port: 0, host: "127.0.0.1" });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const finalized = new Promise<number>((r) => (resolveFinally = r));
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${server.port}/invocations`, { method: "POST", body: "{}", signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    const abortedAt = performance.now();
    controller.abort();
    times.push((await finalized) - abortedAt);
  }
  await app.stop(true);
  return times;
}

/** The echo agent in a session of a real Bunker host against the same app reached directly, alternating rounds. */
async function hostFigures(directPort: number, seconds: number, rounds: number, concurrency: number) {
  const tmp = mkdtempSync(join(tmpdir(), "bench-agent-host-"));
  const bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd, agentRuntime],
    config: { dataDir: join(tmp, "data"), log: { level: "silent" }, server: { port: 0, host: "127.0.0.1" } },
  });
  try {
    await bunker.listen();
    const project = join(tmp, "echo-agent");
    cpSync(join(import.meta.dir, "..", "plugins", "agent-runtime", "examples", "echo-agent"), project, { recursive: true });
    const post = (path: string, body: unknown) =>
      fetch(`${bunker.baseUrl}/agent-runtime${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const deployed = await post("/agents/deploy", { path: project });
    if (deployed.status !== 201) throw new Error(`deploy failed: ${await deployed.text()}`);
    const started = performance.now();
    const created = await post("/sessions", { template_id: "echo-agent" });
    if (created.status !== 201) throw new Error(`session failed: ${await created.text()}`);
    const sessionMs = performance.now() - started;
    const session = (await created.json()) as { host_url: string };
    await requestsPerSecond(session.host_url, 1, concurrency);
    const hostRuns: number[] = [];
    const directRuns: number[] = [];
    for (let round = 0; round < rounds; round++) {
      hostRuns.push(await requestsPerSecond(session.host_url, seconds, concurrency));
      directRuns.push(await requestsPerSecond(directPort, seconds, concurrency));
    }
    const hostRps = median(hostRuns);
    const directRps = median(directRuns);
    console.log(`session creation (sandbox start until /ping answers): ${sessionMs.toFixed(0)} ms`);
    console.log(`/invocations JSON through the host, ${concurrency} concurrent clients, median of ${rounds} alternating ${seconds}s rounds`);
    console.log(`  host → gateway → sandboxed agent ${hostRps.toFixed(0).padStart(8)} req/s`);
    console.log(`  same app, direct                 ${directRps.toFixed(0).padStart(8)} req/s`);
    console.log(`  ratio host/direct                ${(hostRps / directRps).toFixed(3)}`);
    const ttfc = await timeToFirstChunk(session.host_url, 100);
    console.log(`SSE time to first data frame through the host (100 runs): median ${median(ttfc).toFixed(3)} ms, p95 ${p95(ttfc).toFixed(3)} ms`);
  } finally {
    await bunker.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
  const app = await startChild("--serve-app");
  const bare = await startChild("--serve-bare");
  try {
    await requestsPerSecond(app.port, 1, concurrency); // warm up both
    await requestsPerSecond(bare.port, 1, concurrency);
    // Alternating rounds, median of each: other load on the machine hits both sides alike.
    const appRuns: number[] = [];
    const bareRuns: number[] = [];
    for (let round = 0; round < rounds; round++) {
      appRuns.push(await requestsPerSecond(app.port, seconds, concurrency));
      bareRuns.push(await requestsPerSecond(bare.port, seconds, concurrency));
    }
    const appRps = median(appRuns);
    const bareRps = median(bareRuns);
    console.log(`/invocations JSON, ${concurrency} concurrent clients, median of ${rounds} alternating ${seconds}s rounds`);
    console.log(`  AgentRuntimeApp   ${appRps.toFixed(0).padStart(8)} req/s`);
    console.log(`  bare Bun.serve    ${bareRps.toFixed(0).padStart(8)} req/s`);
    console.log(`  ratio app/bare    ${(appRps / bareRps).toFixed(3)}`);
    const ttfc = await timeToFirstChunk(app.port, 300);
    console.log(`SSE time to first data frame (300 runs): median ${median(ttfc).toFixed(3)} ms, p95 ${p95(ttfc).toFixed(3)} ms`);
    await hostFigures(app.port, seconds, Math.min(rounds, 3), Number(process.env.BENCH_HOST_CONCURRENCY ?? 8));
  } finally {
    app.child.kill();
    bare.child.kill();
  }
  const disc = await disconnectToFinally(100);
  console.log(`client disconnect → generator finally (100 runs): median ${median(disc).toFixed(3)} ms, p95 ${p95(disc).toFixed(3)} ms, max ${Math.max(...disc).toFixed(3)} ms`);
}

if (mode !== "--serve-app" && mode !== "--serve-bare") await main();
