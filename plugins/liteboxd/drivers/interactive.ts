// Interactive processes of the local driver: a `spawn` conversation with the supervisor (live stdin, output chunks
// as they come, resize of the PTY, signals to the process group, the exit code at the end).
import { fromBase64, toBase64, type SupervisorChannel } from "./channel";
import type { DriverSpawnRequest, InteractiveProcess } from "./types";

export async function spawnInteractive(channel: SupervisorChannel, req: DriverSpawnRequest): Promise<InteractiveProcess> {
  type Chunk = { stream: "stdout" | "stderr"; data: Uint8Array };
  let controller!: ReadableStreamDefaultController<Chunk>;
  const output = new ReadableStream<Chunk>({ start: (c) => void (controller = c) });
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  let started!: () => void;
  let failed!: (e: Error) => void;
  const isStarted = new Promise<void>((res, rej) => ((started = res), (failed = rej)));
  let done = false;
  const finish = (code: number) => {
    if (done) return;
    done = true;
    conv.close();
    try {
      controller.close();
    } catch {
      /* cancelled by the reader */
    }
    resolveExit(code);
  };
  const conv = channel.open((e) => {
    if (e.ev === "started") started();
    else if (e.ev === "out") {
      try {
        controller.enqueue({ stream: e.s === "stderr" ? "stderr" : "stdout", data: fromBase64(e.d) });
      } catch {
        /* the reader went away */
      }
    } else if (e.ev === "done") {
      started();
      finish(typeof e.code === "number" ? e.code : 1);
    } else if (e.ev === "closed") {
      failed(new Error(String(e.msg ?? "the sandbox stopped")));
      finish(137);
    }
  });
  const send = (msg: Record<string, unknown>) => {
    if (done) return;
    try {
      channel.send({ ...msg, id: conv.id });
    } catch {
      /* the sandbox is gone: "closed" follows */
    }
  };
  channel.send({ op: "spawn", id: conv.id, argv: req.argv, tty: req.tty, cols: req.cols, rows: req.rows, env: req.env ?? {}, cwd: req.cwd ?? "/workspace" });
  await isStarted;
  const signals: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGQUIT: 3 };
  return {
    write: (data) => send({ op: "stdin", d: toBase64(typeof data === "string" ? new TextEncoder().encode(data) : data) }),
    closeStdin: () => send({ op: "eof" }),
    resize: (cols, rows) => {
      if (req.tty) send({ op: "resize", cols, rows });
    },
    output,
    exited,
    kill: (signal = "SIGKILL") => send({ op: "signal", sig: signals[signal] ?? 9 }),
  };
}
