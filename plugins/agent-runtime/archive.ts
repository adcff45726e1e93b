// Uploaded agent projects (.tar.gz request bodies). The server never unpacks an upload itself: the body is gunzipped
// and checked entry by entry here (tar-stream.ts: caps on compressed size, expanded size and entry count, names,
// links; every decompressed byte counts), and the clean stream is unpacked by `tar` in an isolation sandbox, as the sandbox uid, into a fresh staging
// directory that is the sandbox's only writable mount. Whatever happens, the staging directory is removed.
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BunkerError, forEachLine, type IsolationService } from "bunker/core";
import { errors } from "./errors";
import { TarSanitizer } from "./tar-stream";

export interface ArchiveLimits {
  /** Where staging directories are made. */
  uploadsDir: string;
  /** The upload as sent (gzipped). */
  maxBytes: number;
  /** Sum of the sizes of the archive's entries once unpacked. */
  maxExpandedBytes: number;
  maxEntries: number;
}

const SANDBOX_DIR = "/workspace";
/** How long the unpacking may take. */
const UNPACK_TIMEOUT_MS = 120_000;
/** Decompressed bytes allowed per entry beyond its data: its header, and a pax or long-name header before it. */
const HEADER_ALLOWANCE = 3 * 512;
/** Lines of tar's error output quoted when it fails. */
const TAIL_LINES = 5;

/** Unpacks archive into a fresh staging directory, runs use(projectRoot) (a real path), then removes the directory. */
export async function withUnpackedProject<T>(
  archive: ReadableStream<Uint8Array> | null,
  options: ArchiveLimits & { isolation: IsolationService | undefined },
  use: (projectRoot: string) => Promise<T>,
): Promise<T> {
  if (!archive) throw errors.ARCHIVE_REQUIRED("Send the agent project as a .tar.gz request body");
  const isolation = options.isolation;
  if (!isolation) throw errors.SANDBOXES_UNAVAILABLE("Uploaded agent projects are unpacked in a sandbox, and the isolation service is unavailable");
  mkdirSync(options.uploadsDir, { recursive: true });
  const staging = realpathSync(mkdtempSync(join(options.uploadsDir, "project-")));
  try {
    await unpack(archive, staging, options, isolation);
    return await use(projectRoot(staging));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** An archive may wrap the project in one top-level folder (a real one: never a symlink). */
function projectRoot(staging: string): string {
  if (lstatSync(join(staging, "agent.yaml"), { throwIfNoEntry: false })) return staging;
  const entries = readdirSync(staging);
  if (entries.length !== 1) return staging;
  const wrapper = join(staging, entries[0]!);
  return lstatSync(wrapper).isDirectory() && lstatSync(join(wrapper, "agent.yaml"), { throwIfNoEntry: false }) ? wrapper : staging;
}

async function unpack(archive: ReadableStream<Uint8Array>, staging: string, o: ArchiveLimits, isolation: IsolationService): Promise<void> {
  const tar = isolation.spawn({
    argv: ["tar", "-x", "-f", "-", "-C", SANDBOX_DIR, "--no-same-owner", "--no-same-permissions"],
    mounts: [{ host: staging, sandbox: SANDBOX_DIR, writable: true }],
    stdin: "pipe",
    network: false,
    limits: { memoryMb: 256, pids: 16 },
    timeoutMs: UNPACK_TIMEOUT_MS,
  });
  const tail: string[] = [];
  const output = Promise.all([
    forEachLine(tar.stdout, () => undefined, { maxLineLength: 4096 }),
    forEachLine(tar.stderr, (line) => {
      if (line.trim() && tail.push(line) > TAIL_LINES) tail.shift();
    }, { maxLineLength: 4096 }),
  ]);
  const sanitizer = new TarSanitizer({ maxBytes: o.maxExpandedBytes, maxEntries: o.maxEntries });
  // Every byte gunzip makes counts, headers and skipped data included: the entries' sizes alone leave out pax
  // records and the like.
  const maxPlain = o.maxExpandedBytes + o.maxEntries * HEADER_ALLOWANCE;
  let plainBytes = 0;
  let sent = 0;
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      sent += chunk.byteLength;
      if (sent > o.maxBytes) throw errors.ARCHIVE_TOO_LARGE(`Agent archives are limited to ${o.maxBytes} bytes`, { limit: o.maxBytes });
      controller.enqueue(chunk);
    },
  });
  const stdin = tar.stdin!;
  try {
    const gunzip = new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
    const plain = archive.pipeThrough(counted).pipeThrough(gunzip);
    try {
      for await (const chunk of plain as unknown as AsyncIterable<Uint8Array>) {
        plainBytes += chunk.byteLength;
        if (plainBytes > maxPlain) {
          throw errors.ARCHIVE_TOO_LARGE(`The archive expands to more than ${maxPlain} bytes of tar`, { limit: maxPlain });
        }
        for (const piece of sanitizer.push(chunk)) stdin.write(piece);
        await stdin.flush();
        if (sanitizer.ended) break;
      }
    } catch (error) {
      if (error instanceof BunkerError) throw error;
      throw errors.INVALID_ARCHIVE(`The upload is not a valid .tar.gz: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const piece of sanitizer.finish()) stdin.write(piece);
    await stdin.end();
  } catch (error) {
    tar.kill("SIGKILL");
    await tar.exited;
    throw error;
  }
  const code = await tar.exited;
  await output;
  if (tar.timedOut) throw errors.INVALID_ARCHIVE(`Unpacking the archive took longer than ${UNPACK_TIMEOUT_MS / 1000} s`);
  if (code !== 0) throw errors.INVALID_ARCHIVE(`Could not unpack the archive: ${tail.join("\n").trim()}`);
}
