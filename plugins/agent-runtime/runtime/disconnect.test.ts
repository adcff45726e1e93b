// The app over a real port: a client that goes away closes its generator; a stalled client slows no one.
import { afterAll, describe, expect, test } from "bun:test";
import { eventually } from "../../../test/support/eventually";
import { AgentRuntimeApp } from "../agent";


const events: string[] = [];
const app = new AgentRuntimeApp();
app.entrypoint(async function* (req: { mode: string }, ctx) {
  ctx.signal.addEventListener("abort", () => events.push(`${req.mode}: aborted`));
  try {
    for (let i = 0; ; i++) {
      if (req.mode === "slow") await Bun.sleep(10);
      yield { i, pad: "x".repeat(req.mode === "big" ? 64 * 1024 : 1) };
    }
  } finally {
    events.push(`${req.mode}: finally`);
  }
});
const server = app.run({ port: 0, host: "127.0.0.1" });
const url = `http://127.0.0.1:${server.port}/invocations`;
afterAll(() => app.stop(true));

const post = (body: unknown, signal?: AbortSignal) =>
  fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal });

describe("client disconnect over a real port", () => {
  test("aborting the fetch runs the generator's finally and aborts the context signal", async () => {
    const controller = new AbortController();
    const res = await post({ mode: "slow" }, controller.signal);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    await eventually(() => events.includes("slow: finally") && events.includes("slow: aborted"), "the slow generator to close and abort", 2_000);
  });

  test("a client that stops reading leaves its generator suspended and other requests unaffected", async () => {
    const controller = new AbortController();
    const stalled = await post({ mode: "big" }, controller.signal);
    await stalled.body!.getReader().read();
    // The stalled stream's server still answers JSON pings promptly.
    for (let i = 0; i < 5; i++) {
      const ping = await fetch(`http://127.0.0.1:${server.port}/ping`);
      expect(((await ping.json()) as { status: string }).status).toBe("HealthyBusy");
    }
    controller.abort();
    await eventually(() => events.includes("big: finally"), "the big generator to close", 2_000);
    const idle = await fetch(`http://127.0.0.1:${server.port}/ping`);
    expect(((await idle.json()) as { status: string }).status).toBe("Healthy");
  });
});
