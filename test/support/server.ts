// Starts `bunker serve` as a real process on a free port and waits for its "listening" log line.
import { resolve } from "node:path";

export const CLI = resolve(import.meta.dir, "../../core/cli.ts");

export interface ServerProcess {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function startServer(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServerProcess> {
  const proc = Bun.spawn([process.execPath, CLI, "serve", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  const logs: string[] = [];
  let buffered = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value);
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const line of parts) {
      logs.push(line);
      let entry: { msg?: string; url?: string } = {};
      try {
        entry = JSON.parse(line);
      } catch {}
      if (entry.msg === "listening" && entry.url) {
        // Keep draining stdout so the server never blocks on a full pipe.
        void (async () => {
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            logs.push(...decoder.decode(r.value).split("\n").filter(Boolean));
          }
        })();
        return {
          proc, url: entry.url, logs,
          async stop(signal = "SIGTERM") {
            proc.kill(signal);
            return await proc.exited;
          },
        };
      }
    }
  }
  proc.kill("SIGKILL");
  throw new Error(`server did not start within ${timeoutMs} ms:\n${logs.join("\n")}\n${await new Response(proc.stderr).text()}`);
}
