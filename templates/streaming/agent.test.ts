// Calls the agent in-process through app.handle and reads its Server-Sent Events as they arrive.
import { describe, expect, test } from "bun:test";
import app, { type Token } from "./agent.ts";

const invoke = (body: unknown) =>
  app.handle(
    new Request("http://localhost/invocations", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
    }),
  );

/** Yields each SSE frame as { event, data }; `: ping` comments are skipped. */
async function* frames(response: Response): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = frame.split("\n").filter((line) => !line.startsWith(":"));
      if (lines.length === 0) continue;
      const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim() ?? "message";
      const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      yield { event, data: JSON.parse(data) };
    }
  }
}

describe("{{name}}", () => {
  test("streams one token per word", async () => {
    const response = await invoke({ prompt: "tokens arrive one by one" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const tokens: Token[] = [];
    for await (const frame of frames(response)) tokens.push(frame.data as Token);
    expect(tokens.map((t) => t.token)).toEqual(["tokens", "arrive", "one", "by", "one"]);
    expect(tokens.at(-1)).toEqual({ index: 4, token: "one", done: true });
  });

  test("sends an error frame when there is nothing to stream", async () => {
    const response = await invoke({ prompt: "" });
    const all = [];
    for await (const frame of frames(response)) all.push(frame);
    expect(all).toHaveLength(1);
    expect(all[0]!.event).toBe("error");
    expect((all[0]!.data as { error: string }).error).toContain("prompt");
  });

  test("is healthy", async () => {
    const response = await app.handle(new Request("http://localhost/ping"));
    expect(((await response.json()) as { status: string }).status).toBe("Healthy");
  });
});
