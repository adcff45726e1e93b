// One SSH session channel: a shell or a command (with or without a PTY), or the SFTP subsystem, each a process in
// the sandbox started through execInteractive; output, exit status, resize, signals and stdin EOF go through.
import type { PseudoTtyInfo, ServerChannel, Session } from "ssh2";
import { forEachLine } from "bunker/core";
import type { InteractiveProcess, SandboxService } from "../liteboxd/contract";

/** OpenSSH's sftp-server, run INSIDE the sandbox so every path is confined by the sandbox itself; it logs each
 * file operation to stderr (-e -l INFO), which becomes the sandbox's events. */
export const SFTP_SERVER = "/usr/lib/openssh/sftp-server";
const SHELL = ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"];
const WORKDIR = "/workspace";
/** After the process exits, output still in flight is forwarded for at most this long (a background child holding
 * the pipes open must not keep the session alive). */
const OUTPUT_GRACE_MS = 2000;
const PASSED_ENV = /^(LANG|LANGUAGE|LC_[A-Z]+|TZ|COLORTERM)$/;
const SIGNALS = new Set(["HUP", "INT", "QUIT", "KILL", "TERM", "USR1", "USR2", "ALRM", "PIPE"]);
/** Terminal sizes the sandbox accepts (1 to 1000); 0 from a client means "unknown". */
const size = (n: number | undefined, fallback: number) => (n ? Math.max(1, Math.min(1000, Math.floor(n))) : fallback);

/** ssh2 passes the TERM of a pty-req too; its typings leave it out. */
type PtyRequest = PseudoTtyInfo & { term?: string };

export interface SessionScope {
  sandboxId: string;
  owner: string;
  sandboxes: SandboxService;
  record(type: "Normal" | "Warning", reason: string, message: string): void;
  /** Traffic: pushes the idle timeout back. */
  touch(): void;
  /** Registers a channel that runs (or is about to run) a process: when the connection ends it is told why and its
   * process is killed. */
  track(channel: ServerChannel): TrackedChannel;
}

export interface TrackedChannel {
  /** True once the connection is being closed: output stops so that the closing message gets through. */
  ending(): boolean;
  /** The channel's process once started; false when the connection is already ending (kill it then). */
  attach(proc: InteractiveProcess): boolean;
  release(): void;
}

const short = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}…` : text);

export function serveSession(session: Session, scope: SessionScope): void {
  let pty: PtyRequest | undefined;
  let proc: InteractiveProcess | undefined;
  let started = false;
  const env: Record<string, string> = {};

  session.on("pty", (accept, reject, info) => {
    if (started) return reject?.();
    pty = info;
    accept?.();
  });
  session.on("window-change", (accept, _reject, info) => {
    if (pty) Object.assign(pty, { cols: info.cols, rows: info.rows });
    proc?.resize(size(info.cols, 80), size(info.rows, 24));
    accept?.();
  });
  session.on("env", (accept, reject, info) => {
    if (!PASSED_ENV.test(info.key)) return reject?.();
    env[info.key] = info.val;
    accept?.();
  });
  session.on("signal", (accept, reject, info) => {
    if (!SIGNALS.has(info.name)) return reject?.();
    proc?.kill(`SIG${info.name}` as NodeJS.Signals);
    accept?.();
  });
  session.on("shell", (accept, reject) => {
    if (started) return reject?.();
    started = true;
    scope.record("Normal", "SSHShell", pty ? `interactive shell (pty ${pty.term ?? "?"} ${pty.cols}x${pty.rows})` : "shell without a pty");
    void run(accept(), SHELL);
  });
  session.on("exec", (accept, reject, info) => {
    if (started) return reject?.();
    started = true;
    const scp = /^\s*scp\s(?:.*\s)?-[a-zA-Z]*([tf])/.exec(info.command);
    if (scp) scope.record("Normal", scp[1] === "t" ? "SCPUpload" : "SCPDownload", short(info.command));
    else scope.record("Normal", "SSHCommand", short(info.command));
    void run(accept(), ["/bin/sh", "-c", info.command]);
  });
  session.on("subsystem", (accept, reject, info) => {
    if (started || info.name !== "sftp") return reject?.();
    started = true;
    scope.record("Normal", "SFTPSession", "sftp session started");
    void run(accept(), [SFTP_SERVER, "-e", "-l", "INFO", "-d", WORKDIR], sftpLogger(scope));
  });

  async function run(channel: ServerChannel, command: string[], stderrSink?: StderrSink) {
    const onStderr = stderrSink?.write;
    const tty = pty !== undefined && !stderrSink;
    // A write racing the channel's end (the connection closing) must not become an unhandled 'error' event.
    channel.on("error", () => undefined);
    channel.stderr.on("error", () => undefined);
    const tracked = scope.track(channel);
    try {
      proc = await scope.sandboxes.execInteractive(scope.sandboxId, scope.owner, {
        command, tty, cols: size(pty?.cols, 80), rows: size(pty?.rows, 24),
        env: tty ? { ...env, TERM: pty?.term || "xterm" } : env, cwd: WORKDIR,
      });
    } catch (error) {
      stderrSink?.close();
      tracked.release();
      channel.stderr.write(`bunker: ${(error as Error).message}\r\n`);
      channel.exit(1);
      channel.end();
      return;
    }
    const p = proc;
    if (!tracked.attach(p)) {
      stderrSink?.close();
      p.kill("SIGKILL");
      tracked.release();
      return;
    }
    let exited = false;
    channel.on("data", (data: Buffer) => {
      scope.touch();
      p.write(data);
    });
    channel.on("end", () => p.closeStdin());
    channel.on("close", () => {
      if (exited) return;
      p.kill("SIGHUP");
      setTimeout(() => exited || p.kill("SIGKILL"), 2000).unref();
    });
    const pumped = pump(p.output, channel, scope.touch, tracked.ending, onStderr);
    const code = await p.exited;
    exited = true;
    await Promise.race([pumped, Bun.sleep(OUTPUT_GRACE_MS)]);
    stderrSink?.close();
    tracked.release();
    // A closing connection sends its message, exit status and close itself, in that order.
    if (tracked.ending()) return;
    channel.exit(code);
    channel.end();
  }
}

/** Copies the process's output to the channel, waiting for the client's window when it is full. */
async function pump(
  output: InteractiveProcess["output"], channel: ServerChannel, touch: () => void, ending: () => boolean,
  onStderr?: (data: Uint8Array) => void,
): Promise<void> {
  const reader = output.getReader();
  let closed = false;
  channel.once("close", () => {
    closed = true;
    void reader.cancel().catch(() => undefined);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) return;
      touch();
      if (value.stream === "stderr" && onStderr) {
        onStderr(value.data);
        continue;
      }
      const target = value.stream === "stderr" ? channel.stderr : channel;
      if (!target.writable || ending()) continue;
      if (!target.write(Buffer.from(value.data))) await drained(target, channel);
    }
  } catch {
    // the process's output failed or was cancelled: the exit status still goes out
  }
}

function drained(target: NodeJS.WritableStream, channel: ServerChannel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      target.off("drain", done);
      channel.off("close", done);
      resolve();
    };
    target.once("drain", done);
    channel.once("close", done);
  });
}

/** Where a process's stderr goes instead of the channel (sftp-server's log); closed once the process is done. */
interface StderrSink {
  write(data: Uint8Array): void;
  close(): void;
}

/** Turns sftp-server's INFO log lines into the sandbox's events: uploads, downloads and changes. */
function sftpLogger(scope: SessionScope): StderrSink {
  let input!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (input = c) });
  void forEachLine(stream, (line) => {
    const close = /^close "(.*)" bytes read (\d+) written (\d+)$/.exec(line.trim());
    if (close) {
      const [, path, read, written] = close;
      if (Number(written) > 0) scope.record("Normal", "SFTPUpload", `${short(path!)} (${written} bytes)`);
      if (Number(read) > 0) scope.record("Normal", "SFTPDownload", `${short(path!)} (${read} bytes)`);
    } else if (/^(remove name|rmdir name|mkdir name|rename old|posix-rename old|symlink old|hardlink old) /.test(line)) {
      scope.record("Normal", "SFTPChange", short(line.trim()));
    }
  }, { maxLineLength: 64 * 1024 });
  return {
    write: (data) => {
      if (!closed) input.enqueue(data);
    },
    close: () => {
      if (closed) return;
      closed = true;
      input.close();
    },
  };
}
