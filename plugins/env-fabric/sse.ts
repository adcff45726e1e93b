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

/** Progress frames held for a client that reads slower than uv prints; past this the oldest are dropped. */
export const MAX_PENDING_PROGRESS = 256;

/**
 * The frames a stream has yet to send: at most `cap` progress frames (older ones dropped, and counted in a note sent in
 * their place), then the one final frame, which is never dropped. Nothing is taken after close().
 */
export class FrameQueue {
  private readonly progress: string[] = [];
  private head = 0;
  private dropped = 0;
  private final: string | null = null;
  private cancelled = false;

  constructor(private readonly cap = MAX_PENDING_PROGRESS) {}

  /** Progress frames waiting (a dropped-lines note not counted). */
  get size() {
    return this.progress.length - this.head;
  }
  get finished() {
    return this.final !== null;
  }
  get closed() {
    return this.cancelled;
  }
  get empty() {
    return this.size === 0 && this.dropped === 0 && this.final === null;
  }

  push(text: string) {
    if (this.cancelled || this.final !== null) return;
    if (this.size >= this.cap) {
      // A keep-alive comment dropped is no line lost.
      if (!this.progress[this.head]!.startsWith(":")) this.dropped++;
      this.head++;
    }
    this.progress.push(text);
    // Compact now and then, so dropping from the front stays O(1) per frame.
    if (this.head > this.cap) {
      this.progress.splice(0, this.head);
      this.head = 0;
    }
  }

  finish(text: string) {
    if (!this.cancelled && this.final === null) this.final = text;
  }

  /** Everything to send now, in order; the final frame last once it is set. */
  take(): string[] {
    const out: string[] = [];
    if (this.dropped) {
      out.push(frame("progress", { line: `[${this.dropped} progress lines dropped: the client read too slowly]`, dropped: this.dropped }));
      this.dropped = 0;
    }
    out.push(...this.progress.slice(this.head));
    this.progress.length = 0;
    this.head = 0;
    if (this.final !== null) out.push(this.final);
    return out;
  }

  /** The client went away: drop what is held and ignore whatever the operation still sends. */
  close() {
    this.cancelled = true;
    this.progress.length = 0;
    this.head = 0;
    this.dropped = 0;
  }
}

/**
 * Starts `operation` with a progress callback. If it fails before printing anything the error is thrown (the core
 * renders it with its status); otherwise the response streams `progress` events and ends with `result` or `error`.
 * A client that stops reading holds at most MAX_PENDING_PROGRESS progress events; one that hangs up stops them.
 */
export async function streamOperation(operation: (onProgress: ProgressFn) => Promise<unknown>, pingMs = 15_000): Promise<Response> {
  const queue = new FrameQueue();
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let firstLine!: () => void;
  const started = new Promise<void>((resolve) => (firstLine = resolve));
  let printed = false;
  const onProgress: ProgressFn = (line) => {
    printed = true;
    queue.push(frame("progress", { line }));
    firstLine();
    notify();
  };
  const work = operation(onProgress).then(
    (result) => ({ ok: true as const, result }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const early = await Promise.race([work, started.then(() => null)]);
  if (early && !early.ok && !printed) throw early.error;
  void work.then((done) => {
    queue.finish(done.ok ? frame("result", done.result) : frame("error", errorBody(done.error)));
    notify();
  });
  const encoder = new TextEncoder();
  let ping: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start() {
      ping = setInterval(() => {
        // A keep-alive is for an idle stream: one with frames waiting needs none.
        if (!queue.empty) return;
        queue.push(": ping\n\n");
        notify();
      }, pingMs);
    },
    async pull(controller) {
      while (queue.empty && !queue.closed) await new Promise<void>((resolve) => (wake = resolve));
      const finished = queue.finished;
      for (const text of queue.take()) controller.enqueue(encoder.encode(text));
      if (finished) {
        clearInterval(ping);
        controller.close();
      }
    },
    cancel() {
      clearInterval(ping);
      queue.close();
      notify();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" },
  });
}
