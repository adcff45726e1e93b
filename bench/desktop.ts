// Benchmark of the desktop plugin on one 1280x800 local desktop: screenshots (framebuffer + sharp) against the
// E2B SDK's way (scrot to a file, read it back), click round trip, and desktop create→ready.
// Run: bun bench/desktop.ts
import { createBunker } from "bunker/core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import desktop from "../plugins/desktop/index";
import liteboxd from "../plugins/liteboxd/index";

const dir = mkdtempSync(join(tmpdir(), "bunker-desktop-bench-"));
const bunker = await createBunker({
  builtins: false, plugins: [liteboxd, desktop], env: {},
  config: { dataDir: dir, log: { level: "silent" }, plugins: { desktop: { maxConcurrentSandboxes: 50 } } },
});
await bunker.start();

const call = async (method: string, path: string, body?: unknown) => {
  const res = await bunker.handle(new Request(`http://localhost/desktop${path}`, {
    method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  }));
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
};

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
async function measure(n: number, fn: () => Promise<unknown>, warmup = 3) {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}
const ms = (v: number) => `${v.toFixed(1)} ms`;

const info = await (await call("POST", "/desktops", { screen_width: 1280, screen_height: 800, timeout_seconds: 600 })).json();
const id = info.sandbox_id as string;
// Realistic content: a patterned background and two terminals full of text.
await call("POST", `/desktops/${id}/commands`, { command: "xsetroot -mod 7 5 -fg '#335577' -bg '#dde4ea'" });
await call("POST", `/desktops/${id}/apps/launch`, { application: "xterm" });
await call("POST", `/desktops/${id}/apps/launch`, { application: "xterm" });
await Bun.sleep(800);
await call("POST", `/desktops/${id}/keyboard/type`, { text: "ls -la /usr/bin | head -40\n", delay_ms: 1 });
await Bun.sleep(300);

console.log(`desktop ${info.screen.width}x${info.screen.height}, isolated: ${info.isolated}`);
const shots: Record<string, { p50: number; p95: number }> = {};
for (const format of ["png", "jpeg", "webp"]) {
  shots[format] = await measure(40, async () => (await call("GET", `/desktops/${id}/screenshot?format=${format}`)).arrayBuffer());
  console.log(`screenshot ${format.padEnd(4)}  p50 ${ms(shots[format]!.p50)}  p95 ${ms(shots[format]!.p95)}`);
}

// The E2B SDK's way: run scrot into a file, read the file back.
const shotFile = join(dir, "scrot.png");
const scrot = await measure(20, async () => {
  const p = Bun.spawn(["scrot", "--overwrite", shotFile], { env: { ...process.env, DISPLAY: info.display }, stdout: "ignore", stderr: "ignore" });
  if ((await p.exited) !== 0) throw new Error("scrot failed");
  return readFileSync(shotFile);
});
console.log(`scrot + read back  p50 ${ms(scrot.p50)}  p95 ${ms(scrot.p95)}`);
console.log(`ratio scrot/png p50: ${(scrot.p50 / shots.png!.p50).toFixed(1)}x  (goal ≥ 5x; PNG p50 goal ≤ 30 ms)`);

let k = 0;
const click = await measure(40, () => call("POST", `/desktops/${id}/mouse/click`, { x: 100 + (k++ % 50), y: 700 }));
console.log(`click round trip   p50 ${ms(click.p50)}  p95 ${ms(click.p95)}`);
await call("DELETE", `/desktops/${id}`);

const createReady = await measure(10, async () => {
  const d = await (await call("POST", "/desktops", { screen_width: 1280, screen_height: 800 })).json();
  await call("DELETE", `/desktops/${d.sandbox_id}`);
}, 1);
// Subtract nothing: the figure includes the DELETE; measure destroy alone to report create→ready on its own.
const times: number[] = [];
for (let i = 0; i < 10; i++) {
  const t = performance.now();
  const d = await (await call("POST", "/desktops", { screen_width: 1280, screen_height: 800 })).json();
  times.push(performance.now() - t);
  await call("DELETE", `/desktops/${d.sandbox_id}`);
}
console.log(`create→ready       p50 ${ms(percentile(times, 50))}  p95 ${ms(percentile(times, 95))}  (goal ≤ 500 ms; create+destroy p50 ${ms(createReady.p50)})`);

await bunker.stop();
rmSync(dir, { recursive: true, force: true });
