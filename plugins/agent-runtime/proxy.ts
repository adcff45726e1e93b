// Proxying to an agent: which headers cross, bounded request bodies, and a pass-through body that never buffers.
import { BunkerError } from "bunker/core";
import { SESSION_HEADER } from "./runtime/context";

/** Headers the caller may pass on to the agent (never the caller's Bunker credentials). */
export const FORWARDED = /^(content-type|accept|x-amzn-bedrock-agentcore-runtime-custom-.*|x-amzn-bedrock-agentcore-runtime-request-id)$/;
/** Headers of the agent's answer the caller sees. */
export const RETURNED = ["content-type", "cache-control", "x-accel-buffering", SESSION_HEADER];

export const MAX_INVOCATION_BYTES = 16 * 1024 * 1024;

export async function readBounded(request: Request, limit: number): Promise<ArrayBuffer> {
  if (Number(request.headers.get("content-length") ?? 0) > limit) throw new BunkerError(413, "PAYLOAD_TOO_LARGE", `Invocations are limited to ${limit} bytes`);
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > limit) throw new BunkerError(413, "PAYLOAD_TOO_LARGE", `Invocations are limited to ${limit} bytes`);
  return bytes;
}

/** Streams body on unchanged, pull by pull (nothing buffered), and calls onEnd once it ends or the caller leaves. */
export function passThrough(body: ReadableStream<Uint8Array> | null, onEnd: () => Promise<unknown>): ReadableStream<Uint8Array> | null {
  if (!body) {
    void onEnd();
    return null;
  }
  const reader = body.getReader();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    void onEnd();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          end();
          controller.error(error);
          return;
        }
        if (chunk.done) {
          controller.close();
          end();
        } else controller.enqueue(chunk.value);
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
        end();
      },
    },
    { highWaterMark: 0 },
  );
}

