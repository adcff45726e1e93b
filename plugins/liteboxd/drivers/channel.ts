// The host end of the supervisor protocol: JSON lines over the sandbox's stdin/stdout. Everything read from the
// sandbox is untrusted: lines are size-capped and parsed defensively, and a sandbox that breaks the protocol is killed.
import { LineTooLongError, readLines, type IsolatedProcess } from "bunker/core";

export type SupervisorEvent = { ev: string; id?: number; [key: string]: unknown };

const MAX_LINE = 8 * 1024 * 1024;

export class SupervisorChannel {
  private nextId = 1;
  private readonly listeners = new Map<number, (event: SupervisorEvent) => void>();
  private closedReason: string | undefined;
  readonly ready: Promise<void>;
  readonly closed: Promise<void>;

  constructor(
    private readonly proc: IsolatedProcess,
    private readonly onEvent: (event: SupervisorEvent) => void,
  ) {
    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => undefined);
    this.closed = this.readLoop((event) => {
      if (event.ev === "ready") markReady();
      else if (typeof event.id === "number" && this.listeners.has(event.id)) this.listeners.get(event.id)!(event);
      else this.onEvent(event);
    }).finally(() => {
      this.closedReason ??= "the sandbox's supervisor exited";
      failReady(new Error(this.closedReason));
      for (const listener of [...this.listeners.values()]) listener({ ev: "closed", msg: this.closedReason });
      this.listeners.clear();
    });
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  private async readLoop(dispatch: (e: SupervisorEvent) => void): Promise<void> {
    try {
      for await (const line of readLines(this.proc.stdout, { maxLineLength: MAX_LINE, onOverflow: "throw", stripCr: false })) {
        let event: SupervisorEvent;
        try {
          event = JSON.parse(line);
        } catch {
          continue;
        }
        if (event && typeof event === "object" && typeof event.ev === "string") dispatch(event);
      }
    } catch (error) {
      // A sandbox that never ends a line would grow the host's memory: it broke the protocol, so it is killed.
      if (error instanceof LineTooLongError) {
        this.closedReason = "the sandbox's supervisor broke the protocol (line too long)";
        this.proc.kill();
      }
      // Any other error: the stream broke because the process is gone.
    }
  }

  send(message: Record<string, unknown>): void {
    if (this.isClosed || !this.proc.stdin) throw new Error(this.closedReason ?? "the sandbox is not running");
    this.proc.stdin.write(JSON.stringify(message) + "\n");
    this.proc.stdin.flush();
  }

  /** Opens a conversation: a fresh id whose events go to `listener` until `close()`. */
  open(listener: (event: SupervisorEvent) => void): { id: number; close(): void } {
    const id = this.nextId++;
    this.listeners.set(id, listener);
    return { id, close: () => this.listeners.delete(id) };
  }

  /** Ends the conversation with the supervisor by closing its stdin. */
  shutdown(): void {
    this.closedReason ??= "the sandbox was stopped";
    try {
      this.proc.stdin?.end();
    } catch {
      /* already closed */
    }
  }
}

export const fromBase64 = (text: unknown): Uint8Array => (typeof text === "string" ? Buffer.from(text, "base64") : new Uint8Array());
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
