// Server-Sent Events for long uv operations, as a hand-built ReadableStream Response: Elysia 1.4's own streaming only
// logs an error thrown after the first yield and closes the stream, and drops events with `.trace()` +
// `.onAfterHandle()` (elysia#1717). Errors before any progress keep their HTTP status; later ones become an event.
import { BunkerError } from "bunker/core";
import type { ProgressFn } from "./drivers/uv";

export const wantsEventStream = (request: Request) => (request.headers.get("accept") ?? "").includes("text/event-stream");

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function errorBody(err: unknown) {
  if (err instanceof BunkerError) return err.toBody();
  return { error: { code: "INTERNAL_ERROR", message: (err as Error)?.message ?? "internal error" } };
}

/**
 * Starts `operation` with a progress callback. If it fails before printing anything the error is thrown (the core
 * renders it with its status); otherwise the response streams `progress` events and ends with `result` or `error`.
 */
export async function streamOperation(operation: (onProgress: ProgressFn) => Promise<unknown>, pingMs = 15_000): Promise<Response> {
  const pending: string[] = [];
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let firstLine!: () => void;
  const started = new Promise<void>((resolve) => (firstLine = resolve));
  let finished = false;
  const onProgress: ProgressFn = (line) => {
    pending.push(frame("progress", { line }));
    firstLine();
    notify();
  };
  const work = operation(onProgress).then(
    (result) => ({ ok: true as const, result }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const early = await Promise.race([work, started.then(() => null)]);
  if (early && !early.ok && pending.length === 0) throw early.error;
  void work.then((done) => {
    pending.push(done.ok ? frame("result", done.result) : frame("error", errorBody(done.error)));
    finished = true;
    notify();
  });
  const encoder = new TextEncoder();
  let ping: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start() {
      ping = setInterval(() => {
        pending.push(": ping\n\n");
        notify();
      }, pingMs);
    },
    async pull(controller) {
      while (pending.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
      while (pending.length) controller.enqueue(encoder.encode(pending.shift()!));
      if (finished) {
        clearInterval(ping);
        controller.close();
      }
    },
    cancel() {
      clearInterval(ping);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" },
  });
}
