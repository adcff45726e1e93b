// Turns a generator into a pull-based Server-Sent Events stream: one `data:` frame per yielded value,
// `: ping` while the generator is quiet, a final `event: error` frame, and return() when the client leaves.
import { runWithContext, type RequestContext } from "./context";

const encoder = new TextEncoder();
const PING = Symbol("ping");

export type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

export interface SseOptions {
  context: RequestContext;
  pingIntervalMs: number;
  debug: boolean;
  /** Called once, when the stream ends for any reason. */
  onClose(reason: "done" | "error" | "cancel"): void;
  /** Called when the client goes away, before the generator is closed. */
  onCancel(): void;
}

export interface SseStream {
  stream: ReadableStream<Uint8Array>;
  /** Ends the stream from the server side as if the client had gone (idempotent). */
  cancel(): void;
}

export function dataFrame(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value) ?? "null"}\n\n`);
}

export function errorFrame(error: unknown, debug: boolean): Uint8Array {
  const err = error instanceof Error ? error : new Error(String(error));
  const body: Record<string, unknown> = {
    error: err.message,
    error_type: err.name || "Error",
    message: "An error occurred during streaming",
  };
  if (debug && err.stack) body.stack = err.stack;
  return encoder.encode(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
}

export function isIterator(value: unknown): value is AnyIterator {
  if (value === null || typeof value !== "object") return false;
  const it = value as Record<PropertyKey, unknown>;
  return typeof it.next === "function" && (Symbol.asyncIterator in it || Symbol.iterator in it);
}

export function sseStream(iterator: AnyIterator, options: SseOptions): SseStream {
  const { context, pingIntervalMs } = options;
  let pending: Promise<IteratorResult<unknown>> | undefined;
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const finish = (reason: "done" | "error" | "cancel") => {
    if (finished) return false;
    finished = true;
    clearTimeout(timer);
    options.onClose(reason);
    return true;
  };
  // Each step runs inside the request's context so the generator body sees it.
  const step = (): Promise<IteratorResult<unknown>> => {
    const p = runWithContext(context, () => {
      try {
        return Promise.resolve(iterator.next());
      } catch (error) {
        return Promise.reject(error);
      }
    });
    p.catch(() => {}); // a step still running when the client leaves must not become an unhandled rejection
    return p;
  };
  const cancel = () => {
    if (!finish("cancel")) return;
    options.onCancel();
    // return() runs the generator's finally; for an async generator suspended at an await it runs right after that await.
    runWithContext(context, () => {
      try {
        Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        /* a sync generator already executing, or one whose finally throws: nothing left to close */
      }
    });
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // Bun holds the response headers until the first chunk: a comment sends them at once.
        controller.enqueue(encoder.encode(": stream open\n\n"));
      },
      async pull(controller) {
        if (finished) return;
        pending ??= step();
        const tick = new Promise<typeof PING>((resolve) => {
          timer = setTimeout(() => resolve(PING), pingIntervalMs);
        });
        let outcome: IteratorResult<unknown> | typeof PING;
        try {
          outcome = await Promise.race([pending, tick]);
        } catch (error) {
          pending = undefined;
          if (finished) return;
          controller.enqueue(errorFrame(error, options.debug));
          controller.close();
          finish("error");
          return;
        } finally {
          clearTimeout(timer);
        }
        if (finished) return;
        if (outcome === PING) {
          controller.enqueue(encoder.encode(": ping\n\n"));
          return;
        }
        pending = undefined;
        if (outcome.done) {
          controller.close();
          finish("done");
          return;
        }
        controller.enqueue(dataFrame(outcome.value));
      },
      cancel,
    },
    { highWaterMark: 0 },
  );
  return { stream, cancel };
}
