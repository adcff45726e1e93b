// Proxying to an agent: which headers cross, bounded streamed request bodies, and a pass-through body that never buffers.
import { boundedBody as boundedStream } from "bunker/core";
import { errors } from "./errors";
import { SESSION_HEADER } from "./runtime/context";

/** Headers the caller may pass on to the agent (never the caller's Bunker credentials). */
export const FORWARDED = /^(content-type|accept|x-amzn-bedrock-agentcore-runtime-custom-.*|x-amzn-bedrock-agentcore-runtime-request-id)$/;
/** Headers of the agent's answer the caller sees. */
export const RETURNED = ["content-type", "cache-control", "x-accel-buffering", SESSION_HEADER];

export const MAX_INVOCATION_BYTES = 16 * 1024 * 1024;
/** Invocation bodies up to this size with a Content-Length are forwarded in one piece instead of streamed. */
export const SMALL_BODY_BYTES = 64 * 1024;

const tooLarge = (limit: number) => errors.PAYLOAD_TOO_LARGE(`Invocations are limited to ${limit} bytes`);

/** The caller's request body as a stream for the agent (never read into memory here), 413 past `limit` bytes. */
export const boundedBody = (request: Request, limit: number) => boundedStream(request, limit, () => tooLarge(limit));

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

