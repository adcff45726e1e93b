// Uploaded agent projects: a .tar.gz request body unpacked with GNU tar (which drops absolute and ".." member
// names), size-limited while it streams.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errors } from "./errors";

/** Unpacks archive into a fresh directory under uploadsDir, runs use(projectRoot), then removes the directory. */
export async function withUnpackedProject<T>(
  archive: ReadableStream<Uint8Array> | null,
  options: { uploadsDir: string; maxBytes: number },
  use: (projectRoot: string) => Promise<T>,
): Promise<T> {
  if (!archive) throw errors.ARCHIVE_REQUIRED("Send the agent project as a .tar.gz request body");
  const dir = join(options.uploadsDir, `project_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`);
  mkdirSync(dir, { recursive: true });
  const tar = Bun.spawn(["tar", "-xz", "-f", "-", "-C", dir, "--no-same-owner", "--no-same-permissions"], {
    stdin: "pipe",
    stdout: "ignore",
    stderr: "pipe",
  });
  let size = 0;
  try {
    for await (const chunk of archive as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > options.maxBytes) {
        tar.kill();
        throw errors.ARCHIVE_TOO_LARGE(`Agent archives are limited to ${options.maxBytes} bytes`);
      }
      tar.stdin.write(chunk);
    }
    await tar.stdin.end();
    const code = await tar.exited;
    if (code !== 0) throw errors.INVALID_ARCHIVE(`Could not unpack the archive: ${(await new Response(tar.stderr).text()).trim()}`);
    // An archive may wrap the project in one top-level folder.
    const entries = readdirSync(dir);
    const wrapped = !existsSync(join(dir, "agent.yaml")) && entries.length === 1 && existsSync(join(dir, entries[0]!, "agent.yaml"));
    return await use(wrapped ? join(dir, entries[0]!) : dir);
  } finally {
    // The template holds the files now; the unpacked copy is not needed any more.
    tar.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
