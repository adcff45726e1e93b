// One line reader for child-process output and line protocols: bounded, so a peer that never sends "\n" cannot grow
// the host's memory, and decoding keeps multi-byte characters split across chunks intact.

export interface ReadLinesOptions {
  /** A line longer than this many characters is cut there (the rest of it is dropped) or, with `onOverflow:
   * "throw"`, ends the read with a LineTooLongError. Default 1 MiB. */
  maxLineLength?: number;
  onOverflow?: "truncate" | "throw";
  /** Strip a trailing "\r" (CRLF output). Default true. */
  stripCr?: boolean;
}

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`a line exceeded ${limit} characters`);
    this.name = "LineTooLongError";
  }
}

/** Yields each line of a byte stream (without its "\n"); the last line is yielded even without a final newline. */
export async function* readLines(stream: ReadableStream<Uint8Array>, options: ReadLinesOptions = {}): AsyncGenerator<string> {
  const max = options.maxLineLength ?? 1024 * 1024;
  const stripCr = options.stripCr !== false;
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let buffer = "";
  let dropping = false;
  const finish = (line: string) => (stripCr && line.endsWith("\r") ? line.slice(0, -1) : line);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n", start)) {
        const line = buffer.slice(start, nl);
        start = nl + 1;
        if (dropping) {
          dropping = false;
          continue;
        }
        yield finish(line);
      }
      buffer = buffer.slice(start);
      if (buffer.length > max) {
        if (options.onOverflow === "throw") throw new LineTooLongError(max);
        if (!dropping) yield finish(buffer.slice(0, max));
        dropping = true;
        buffer = "";
      }
    }
    buffer += decoder.decode();
    if (buffer && !dropping) yield finish(buffer);
  } finally {
    reader.releaseLock();
  }
}

/** Calls fn for each line until the stream ends; errors of the stream itself end it quietly (the process is gone). */
export async function forEachLine(stream: ReadableStream<Uint8Array>, fn: (line: string) => void, options?: ReadLinesOptions): Promise<void> {
  try {
    for await (const line of readLines(stream, options)) fn(line);
  } catch (error) {
    if (error instanceof LineTooLongError) throw error;
  }
}
