// Streaming and interactive exec over HTTP: POST /sandboxes/:id/exec/stream (Server-Sent Events) and
// GET /sandboxes/:id/exec/interactive (WebSocket with LiteBoxd's JSON frames). Both end the command, with its whole
// process group, when the caller goes away.
import type { Server, ServerWebSocket } from "bun";
import { Elysia, principalOf, t } from "bunker/core";
import type { InteractiveProcess, SandboxService } from "./contract";
import { errors } from "./errors";
import { ExecBody } from "./schema";

const KEEPALIVE_MS = 15_000;
const encoder = new TextEncoder();

interface SseEvent {
  event: string;
  data: unknown;
}

/** An SSE response that asks `next` for the following event only once the client has taken the last one: a client
 * that reads slowly (or not at all) holds the command's output back instead of growing a queue here. `next` returns
 * undefined after the last event. A keepalive comment goes out only while nothing waits to be sent. The stream is
 * hand-built (Elysia's generator streaming has known SSE bugs). */
function sse(next: () => Promise<SseEvent | undefined>, onCancel: () => void): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => {
        if (!ended && (controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(": keepalive\n\n"));
      }, KEEPALIVE_MS);
    },
    async pull(controller) {
      let e: SseEvent | undefined;
      try {
        e = await next();
      } catch (error) {
        e = { event: "error", data: { message: (error as Error).message } };
        ended = true;
      }
      if (e) controller.enqueue(encoder.encode(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`));
      if (!e || ended) {
        ended = true;
        clearInterval(timer);
        controller.close();
      }
    },
    cancel() {
      ended = true;
      clearInterval(timer);
      onCancel();
    },
  }, { highWaterMark: 1 });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" } });
}

/** `command` from the query: repeated parameters are the argv; a single value with spaces runs through /bin/sh -c. */
export function interactiveArgv(values: string[]): string[] {
  if (values.length === 0) return ["/bin/sh"];
  if (values.length === 1 && /\s/.test(values[0]!.trim())) return ["/bin/sh", "-c", values[0]!];
  return values;
}

interface InteractiveData {
  open?(ws: ServerWebSocket<InteractiveData>): void;
  message?(ws: ServerWebSocket<InteractiveData>, message: string | Buffer): void;
  drain?(ws: ServerWebSocket<InteractiveData>): void;
  close?(ws: ServerWebSocket<InteractiveData>): void;
}

function bridge(proc: InteractiveProcess): InteractiveData {
  let socket: ServerWebSocket<InteractiveData> | undefined;
  let ended = false;
  /** Resolves the wait of the output pump once the socket drains (or closes). */
  let resume: (() => void) | undefined;
  const wake = () => {
    resume?.();
    resume = undefined;
  };
  /** Sends a frame; true when the socket took it without backing up (Bun: -1 queued behind backpressure, 0 dropped). */
  const sendFrame = (frame: Record<string, unknown>) => (socket ? socket.send(JSON.stringify(frame)) > 0 : false);
  const pumpOutput = async () => {
    const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const reader = proc.output.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const data = decoder[value.stream].decode(value.data, { stream: true });
      if (!data) continue;
      const sent = sendFrame(value.stream === "stderr" ? { type: "output", data, stream: "stderr" } : { type: "output", data });
      // A client slower than the command: read no further until its socket drains.
      if (!sent && socket) await new Promise<void>((resolve) => (resume = resolve));
    }
    const exitCode = await proc.exited;
    ended = true;
    sendFrame({ type: "exit", exitCode });
    socket?.close(1000, "process exited");
  };
  return {
    open(ws) {
      socket = ws;
      void pumpOutput().catch((error) => {
        sendFrame({ type: "error", message: (error as Error).message });
        ws.close(1011, "error");
      });
    },
    message(_ws, message) {
      let frame: { type?: string; data?: unknown; cols?: unknown; rows?: unknown };
      try {
        frame = JSON.parse(typeof message === "string" ? message : message.toString("utf8"));
      } catch {
        sendFrame({ type: "error", message: "frames are JSON objects: {type:\"input\",data} or {type:\"resize\",cols,rows}" });
        return;
      }
      if (frame.type === "input" && typeof frame.data === "string") proc.write(frame.data);
      else if (frame.type === "resize" && Number.isInteger(frame.cols) && Number.isInteger(frame.rows)) proc.resize(frame.cols as number, frame.rows as number);
      else if (frame.type === "eof") proc.closeStdin();
      else sendFrame({ type: "error", message: `unknown or malformed frame type "${String(frame.type)}"` });
    },
    drain: wake,
    close() {
      socket = undefined;
      wake();
      if (!ended) proc.kill();
    },
  };
}

export function streamRoutes(sandboxes: SandboxService) {
  const user = (request: Request) => principalOf(request).userId;
  return new Elysia({ name: "liteboxd-streams" })
    .post("/sandboxes/:id/exec/stream", async ({ params, body, request }) => {
      const proc = await sandboxes.execInteractive(params.id, user(request), { command: body.command, tty: false, env: body.env, cwd: body.cwd });
      proc.closeStdin();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        proc.kill();
      }, (body.timeout ?? 30) * 1000);
      const onAbort = () => proc.kill();
      request.signal.addEventListener("abort", onAbort);
      const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
      const reader = proc.output.getReader();
      let exited = false;
      // One chunk of output per event, read when the client has taken the previous one; then the exit code.
      return sse(async () => {
        if (exited) return undefined;
        const { done, value } = await reader.read();
        if (!done) return { event: value.stream, data: { data: decoder[value.stream].decode(value.data, { stream: true }) } };
        const exitCode = await proc.exited;
        exited = true;
        clearTimeout(timer);
        request.signal.removeEventListener("abort", onAbort);
        return { event: "exit", data: { exit_code: exitCode, timed_out: timedOut } };
      }, () => {
        clearTimeout(timer);
        proc.kill();
        reader.cancel().catch(() => undefined);
      });
    }, { body: ExecBody })
    .get("/sandboxes/:id/exec/interactive", async ({ params, query, request, server }) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") throw errors.INVALID_REQUEST("this endpoint speaks WebSocket: send an Upgrade request");
      if (!server) throw errors.INVALID_REQUEST("WebSocket needs a listening server");
      const url = new URL(request.url);
      // The number only: execInteractive holds cols and rows to their range.
      const num = (name: string) => {
        const v = url.searchParams.get(name);
        return v === null || v === "" ? undefined : Number(v);
      };
      const tty = query.tty === "true" || query.tty === "1";
      const proc = await sandboxes.execInteractive(params.id, user(request), {
        command: interactiveArgv(url.searchParams.getAll("command")), tty, cols: num("cols") ?? (tty ? 80 : undefined), rows: num("rows") ?? (tty ? 24 : undefined),
      });
      if (!(server as Server<InteractiveData>).upgrade(request, { data: bridge(proc) })) {
        proc.kill();
        throw errors.INVALID_REQUEST("expected a WebSocket upgrade");
      }
      return undefined;
    }, { query: t.Object({ tty: t.Optional(t.String()), command: t.Optional(t.Union([t.String(), t.Array(t.String())])), rows: t.Optional(t.String()), cols: t.Optional(t.String()) }) });
}
