// The invocation body is streamed to the agent, never read whole, and cut off with a 413 past the limit.
import { describe, expect, test } from "bun:test";
import { BunkerError } from "bunker/core";
import { boundedBody } from "./proxy";

const chunks = (...sizes: number[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const size of sizes) controller.enqueue(new Uint8Array(size));
      controller.close();
    },
  });

const post = (body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) =>
  // @ts-expect-error duplex is the fetch-spec flag for streamed bodies
  new Request("http://localhost/invocations", { method: "POST", body, headers, duplex: "half" });

describe("bounded invocation bodies", () => {
  test("a body within the limit arrives unchanged", async () => {
    const body = boundedBody(post('{"prompt":"hi"}'), 1024)!;
    expect(await new Response(body).text()).toBe('{"prompt":"hi"}');
  });

  test("a declared Content-Length over the limit is refused before anything is read", () => {
    let error: unknown;
    try {
      boundedBody(post("x".repeat(10), { "content-length": "2048" }), 1024);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BunkerError);
    expect((error as BunkerError).status).toBe(413);
  });

  test("a chunked body that passes the limit errors with a 413 after the bytes within it", async () => {
    const reader = boundedBody(post(chunks(600, 300, 400)), 1024)!.getReader();
    expect((await reader.read()).value?.byteLength).toBe(600);
    expect((await reader.read()).value?.byteLength).toBe(300);
    const error = await reader.read().catch((e) => e);
    expect(error).toBeInstanceOf(BunkerError);
    expect(error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  test("a request without a body has none to forward", () => {
    expect(boundedBody(new Request("http://localhost/invocations", { method: "POST" }), 1024)).toBeUndefined();
  });
});
