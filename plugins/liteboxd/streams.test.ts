// Streaming exec (SSE) and interactive exec (WebSocket, with a PTY) over a real port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "./index";
import { setPrincipal } from "../../core/auth";
import type { InteractiveProcess, SandboxService } from "./contract";
import { interactiveArgv, streamRoutes } from "./streams";
import { eventually } from "../../test/support/eventually";

const dataDir = mkdtempSync(join(tmpdir(), "liteboxd-streams-"));
let bunker: Bunker;
let api: string;
let id: string;

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });


/** Reads SSE events from a response body as they arrive. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) return;
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) yield { event, data: JSON.parse(data) };
    }
  }
}

beforeAll(async () => {
  bunker = await createBunker({ builtins: false, plugins: [liteboxd], config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { warmPool: 0 } } } });
  await bunker.listen();
  api = `${bunker.baseUrl}/api/v1`;
  expect((await fetch(`${api}/templates`, json({ name: "shell", spec: { image: "host" } }))).status).toBe(201);
  id = ((await (await fetch(`${api}/sandboxes`, json({ template: "shell" }))).json()) as { id: string }).id;
  await eventually(async () => (await (await fetch(`${api}/sandboxes/${id}`)).json()).status === "running", "the sandbox");
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("streaming exec", () => {
  test("stdout and stderr chunks arrive in order as they happen, then the exit code", async () => {
    const res = await fetch(`${api}/sandboxes/${id}/exec/stream`, json({ command: ["sh", "-c", "echo a; sleep 0.1; echo b >&2; sleep 0.1; echo c; exit 4"] }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const seen: string[] = [];
    for await (const e of events(res.body!)) seen.push(e.event === "exit" ? `exit:${e.data.exit_code}:${e.data.timed_out}` : `${e.event}:${e.data.data}`);
    expect(seen).toEqual(["stdout:a\n", "stderr:b\n", "stdout:c\n", "exit:4:false"]);
  });

  test("the timeout kills the command and says so", async () => {
    const res = await fetch(`${api}/sandboxes/${id}/exec/stream`, json({ command: ["sleep", "30"], timeout: 1 }));
    const all = [];
    for await (const e of events(res.body!)) all.push(e);
    expect(all.at(-1)).toEqual({ event: "exit", data: { exit_code: 137, timed_out: true } });
  });

  test("a client's disconnect kills the command", async () => {
    const abort = new AbortController();
    const res = await fetch(`${api}/sandboxes/${id}/exec/stream`, { ...json({ command: ["sh", "-c", "echo $$; exec sleep 300"] }), signal: abort.signal });
    const first = await events(res.body!).next();
    const pid = String(first.value!.data.data).trim();
    const alive = async () => ((await (await fetch(`${api}/sandboxes/${id}/exec`, json({ command: ["kill", "-0", pid] }))).json()) as { exit_code: number }).exit_code === 0;
    expect(await alive()).toBe(true);
    abort.abort();
    await eventually(async () => !(await alive()), "the command to be killed");
  });

  test("output is read from the command only as fast as the client reads the stream", async () => {
    // A command that would print without end: each chunk is made when the route reads it.
    let produced = 0;
    let killed = false;
    const output = new ReadableStream<{ stream: "stdout" | "stderr"; data: Uint8Array }>({
      pull(controller) {
        if (produced >= 2000) return new Promise<void>(() => undefined);
        produced++;
        controller.enqueue({ stream: "stdout", data: new Uint8Array(64 * 1024).fill(120) });
      },
    }, { highWaterMark: 0 });
    const proc: InteractiveProcess = {
      write: () => undefined, closeStdin: () => undefined, resize: () => undefined, output,
      exited: new Promise<number>(() => undefined), kill: () => void (killed = true),
    };
    const routes = streamRoutes({ execInteractive: async () => proc } as unknown as SandboxService);
    const request = new Request("http://local/sandboxes/fake/exec/stream", json({ command: ["yes"] }));
    setPrincipal(request, { userId: "u", keyId: null });
    const res = await routes.handle(request);
    expect(res.status).toBe(200);
    await Bun.sleep(200);
    // Nobody reads the response: at most the one event the stream keeps ready was taken from the command.
    expect(produced).toBeLessThanOrEqual(2);
    const reader = res.body!.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await Bun.sleep(50);
    expect(produced).toBeLessThanOrEqual(5 + 2);
    await reader.cancel();
    expect(killed).toBe(true);
  });

  test("a missing sandbox is a 404 before any stream starts", async () => {
    expect((await fetch(`${api}/sandboxes/nope1234/exec/stream`, json({ command: ["true"] }))).status).toBe(404);
  });
});

describe("interactive exec", () => {
  const open = (query: string) => {
    const ws = new WebSocket(`${api.replace("http", "ws")}/sandboxes/${id}/exec/interactive?${query}`);
    const frames: Array<{ type: string; data?: string; exitCode?: number; stream?: string }> = [];
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
    const opened = new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket refused"));
    });
    const output = () => frames.filter((f) => f.type === "output").map((f) => f.data).join("");
    return { ws, frames, opened, output };
  };

  test("a shell on a PTY: input, output, resize shown by stty size, and the exit frame", async () => {
    const s = open("command=sh&tty=true&rows=24&cols=80");
    await s.opened;
    s.ws.send(JSON.stringify({ type: "input", data: "stty size; tty\n" }));
    await eventually(async () => /\/dev\/pts\/\d+/.test(s.output()), "tty output");
    expect(s.output()).toContain("24 80");
    s.ws.send(JSON.stringify({ type: "resize", cols: 120, rows: 50 }));
    s.ws.send(JSON.stringify({ type: "input", data: "stty size\n" }));
    await eventually(async () => s.output().includes("50 120"), "the new size");
    s.ws.send(JSON.stringify({ type: "input", data: "exit 3\n" }));
    await eventually(async () => s.frames.some((f) => f.type === "exit"), "the exit frame");
    expect(s.frames.find((f) => f.type === "exit")!.exitCode).toBe(3);
  });

  test("without a tty, stderr frames are marked and stdin reaches the command", async () => {
    const s = open("command=sh&command=-c&command=read%20x%3B%20echo%20out%3A%24x%3B%20echo%20err%20%3E%262");
    await s.opened;
    s.ws.send(JSON.stringify({ type: "input", data: "hi\n" }));
    await eventually(async () => s.frames.some((f) => f.type === "exit"), "the exit frame");
    expect(s.frames.filter((f) => f.type === "output" && !f.stream).map((f) => f.data).join("")).toBe("out:hi\n");
    expect(s.frames.filter((f) => f.stream === "stderr").map((f) => f.data).join("")).toBe("err\n");
  });

  test("closing the socket kills the process, and a bad frame gets an error frame", async () => {
    const s = open("command=sh&tty=true");
    await s.opened;
    s.ws.send("not json");
    await eventually(async () => s.frames.some((f) => f.type === "error"), "an error frame");
    s.ws.send(JSON.stringify({ type: "input", data: "echo pid=$$\n" }));
    await eventually(async () => /pid=\d+/.test(s.output()), "the pid");
    const pid = /pid=(\d+)/.exec(s.output())![1]!;
    s.ws.close();
    await eventually(async () => ((await (await fetch(`${api}/sandboxes/${id}/exec`, json({ command: ["kill", "-0", pid] }))).json()) as { exit_code: number }).exit_code !== 0, "the shell to die");
  });

  test("a single command with spaces runs through sh -c; repeated ones are the argv", () => {
    expect(interactiveArgv(["ls -la /tmp"])).toEqual(["/bin/sh", "-c", "ls -la /tmp"]);
    expect(interactiveArgv(["ls", "-la"])).toEqual(["ls", "-la"]);
    expect(interactiveArgv([])).toEqual(["/bin/sh"]);
  });
});
