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

/** An SSE response fed by `run`; the stream is hand-built (Elysia's generator streaming has known SSE bugs). */
function sse(run: (send: (event: string, data: unknown) => void) => Promise<void>, onCancel: () => void): Response {
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          closed = true;
        }
      };
      timer = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
      run((event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`))
        .catch((error) => write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`))
        .finally(() => {
          clearInterval(timer);
          if (!closed) {
            closed = true;
            controller.close();
          }
        });
    },
    cancel() {
      closed = true;
      clearInterval(timer);
      onCancel();
    },
  });
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
  close?(ws: ServerWebSocket<InteractiveData>): void;
}

function bridge(proc: InteractiveProcess): InteractiveData {
  let socket: ServerWebSocket<InteractiveData> | undefined;
  let ended = false;
  const sendFrame = (frame: Record<string, unknown>) => socket?.send(JSON.stringify(frame));
  const pumpOutput = async () => {
    const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const reader = proc.output.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const data = decoder[value.stream].decode(value.data, { stream: true });
      if (data) sendFrame(value.stream === "stderr" ? { type: "output", data, stream: "stderr" } : { type: "output", data });
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
    close() {
      socket = undefined;
      if (!ended) proc.kill();
    },
  };
}

export function streamRoutes(sandboxes: SandboxService) {
  const user = (request: Request) => principalOf(request).userId;
  return new Elysia({ name: "liteboxd-streams" })
    .post("/sandboxes/:id/exec/stream", async ({ params, body, request }) => {
      if (body.cwd !== undefined && !body.cwd.startsWith("/")) throw errors.INVALID_REQUEST("cwd must be an absolute path");
      const proc = await sandboxes.execInteractive(params.id, user(request), { command: body.command, tty: false, env: body.env, cwd: body.cwd });
      proc.closeStdin();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        proc.kill();
      }, (body.timeout ?? 30) * 1000);
      const onAbort = () => proc.kill();
      request.signal.addEventListener("abort", onAbort);
      return sse(async (send) => {
        const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
        const reader = proc.output.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          send(value.stream, { data: decoder[value.stream].decode(value.data, { stream: true }) });
        }
        const exitCode = await proc.exited;
        clearTimeout(timer);
        request.signal.removeEventListener("abort", onAbort);
        send("exit", { exit_code: exitCode, timed_out: timedOut });
      }, () => {
        clearTimeout(timer);
        proc.kill();
      });
    }, { body: ExecBody })
    .get("/sandboxes/:id/exec/interactive", async ({ params, query, request, server }) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") throw errors.INVALID_REQUEST("this endpoint speaks WebSocket: send an Upgrade request");
      if (!server) throw errors.INVALID_REQUEST("WebSocket needs a listening server");
      const url = new URL(request.url);
      const num = (name: string) => {
        const v = url.searchParams.get(name);
        if (v === null || v === "") return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 1000) throw errors.INVALID_REQUEST(`${name} must be an integer from 1 to 1000`);
        return n;
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
