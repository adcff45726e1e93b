// The host end of the supervisor protocol against a fake sandbox process: events are dispatched by line, and a
// sandbox that floods one endless line is killed instead of growing the host's memory.
import { describe, expect, test } from "bun:test";
import type { IsolatedProcess } from "bunker/core";
import { SupervisorChannel, type SupervisorEvent } from "./channel";

function fakeProcess() {
  let output!: ReadableStreamDefaultController<Uint8Array>;
  const kills: Array<string | number | undefined> = [];
  const proc = {
    pid: 1, stdin: null, stderr: new ReadableStream<Uint8Array>(), exited: new Promise<number>(() => {}), timedOut: false, unenforced: [],
    stdout: new ReadableStream<Uint8Array>({ start: (c) => void (output = c) }),
    kill(signal?: string | number) {
      kills.push(signal);
      output.close();
    },
  } as unknown as IsolatedProcess;
  const send = (text: string) => output.enqueue(new TextEncoder().encode(text));
  return { proc, send, end: () => output.close(), kills };
}

describe("the supervisor channel", () => {
  test("events split across chunks are dispatched whole; malformed lines are skipped", async () => {
    const sandbox = fakeProcess();
    const events: SupervisorEvent[] = [];
    const channel = new SupervisorChannel(sandbox.proc, (e) => events.push(e));
    sandbox.send('{"ev":"ready"}\n{"ev":"lo');
    sandbox.send('g","d":"aGk="}\nnot json\n{"no":"ev"}\n');
    await channel.ready;
    sandbox.end();
    await channel.closed;
    expect(events).toEqual([{ ev: "log", d: "aGk=" }]);
    expect(sandbox.kills).toEqual([]);
  });

  test("a line longer than the limit kills the sandbox and names why", async () => {
    const sandbox = fakeProcess();
    const channel = new SupervisorChannel(sandbox.proc, () => undefined);
    const chunk = "x".repeat(1024 * 1024);
    for (let i = 0; i < 9; i++) sandbox.send(chunk);
    await channel.closed;
    expect(sandbox.kills).toHaveLength(1);
    expect(channel.isClosed).toBe(true);
    await expect(channel.ready).rejects.toThrow("line too long");
  });
});
