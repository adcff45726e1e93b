// The SSE helper: a client that reads slowly (or not at all) holds a bounded number of frames, never the whole run.
import { describe, expect, test } from "bun:test";
import { FrameQueue, MAX_PENDING_PROGRESS, streamOperation } from "./sse";

async function eventsOf(res: Response): Promise<Array<{ event: string; data: any }>> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("event: "))
    .map((block) => {
      const [event, data] = block.split("\n");
      return { event: event!.slice("event: ".length), data: JSON.parse(data!.slice("data: ".length)) };
    });
}

describe("the frame queue", () => {
  test("holds at most its cap of progress frames, counts the dropped ones and keeps the final frame", () => {
    const queue = new FrameQueue(4);
    for (let i = 0; i < 100; i++) queue.push(`p${i}`);
    expect(queue.size).toBe(4);
    queue.finish("final");
    queue.push("after the end");
    const frames = queue.take();
    expect(frames.slice(1)).toEqual(["p96", "p97", "p98", "p99", "final"]);
    expect(frames[0]).toContain('"dropped":96');
  });

  test("takes nothing after close", () => {
    const queue = new FrameQueue(4);
    queue.push("p0");
    queue.close();
    queue.push("p1");
    queue.finish("final");
    expect(queue.empty).toBe(true);
    expect(queue.take()).toEqual([]);
  });
});

describe("streamOperation", () => {
  test("a client that does not read holds at most the cap of progress events; the result still arrives", async () => {
    const lines = 10 * MAX_PENDING_PROGRESS;
    let release!: () => void;
    const printedAll = new Promise<void>((resolve) => (release = resolve));
    const res = await streamOperation(async (onProgress) => {
      for (let i = 0; i < lines; i++) onProgress(`line ${i}`);
      release();
      return { status: "done" };
    });
    await printedAll;
    await Bun.sleep(10);
    const events = await eventsOf(res);
    const progress = events.filter((e) => e.event === "progress");
    expect(progress.length).toBeLessThanOrEqual(MAX_PENDING_PROGRESS + 1);
    const note = progress.find((e) => e.data.dropped !== undefined);
    expect(note?.data.dropped).toBe(lines - progress.length + 1);
    expect(progress.at(-1)!.data.line).toBe(`line ${lines - 1}`);
    expect(events.at(-1)).toEqual({ event: "result", data: { status: "done" } });
  });

});
