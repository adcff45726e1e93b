// Closed-loop HTTP load from a separate process: `bun bench/load.ts URL SECONDS CONCURRENCY` → prints requests done.
const [url, seconds = "3", concurrency = "32"] = process.argv.slice(2);
if (!url) throw new Error("usage: bun bench/load.ts URL [SECONDS] [CONCURRENCY]");
const until = performance.now() + Number(seconds) * 1000;
let done = 0;
let failed = 0;
async function loop() {
  while (performance.now() < until) {
    const res = await fetch(url!);
    await res.arrayBuffer();
    if (res.ok) done++;
    else failed++;
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, loop));
console.log(JSON.stringify({ done, failed, seconds: Number(seconds) }));
export {};
