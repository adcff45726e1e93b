// Starts a throwaway PostgreSQL cluster on loopback for the storage suite (Debian's postgresql package).
import { afterAll, beforeAll } from "bun:test";
import { openDatabase, type Database } from "../../core/db";
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync, chownSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./processes";

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

function pgBin(name: string): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, "bin", name))) return join(root, v, "bin", name);
  }
  const found = Bun.which(name);
  if (!found) throw new Error(`PostgreSQL's ${name} is not installed: run \`bun core/setup.ts test\` (installs Debian's postgresql)`);
  return found;
}

/** Uses BUNKER_TEST_DATABASE_URL when set; otherwise initdb + pg_ctl in a temp dir, as user postgres when root. */
export async function startPostgres(): Promise<TestPostgres> {
  if (process.env.BUNKER_TEST_DATABASE_URL) return { url: process.env.BUNKER_TEST_DATABASE_URL, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), "bunker-pg-"));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const wrap = (argv: string[]) => (asRoot ? ["runuser", "-u", "postgres", "--", ...argv] : argv);
  if (asRoot) {
    const id = Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
    const gid = Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim();
    chownSync(dir, Number(id), Number(gid));
  }
  const data = join(dir, "data");
  const init = Bun.spawnSync(wrap([pgBin("initdb"), "-D", data, "-U", "bunker", "--auth=trust", "-E", "UTF8", "--no-sync"]), { stdout: "pipe", stderr: "pipe" });
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  const port = freePort();
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = Bun.spawnSync(wrap([pgBin("pg_ctl"), "-D", data, "-o", opts, "-l", join(dir, "log"), "-w", "-t", "30", "start"]), { stdout: "pipe", stderr: "pipe" });
  if (start.exitCode !== 0) throw new Error(`pg_ctl start failed: ${start.stderr.toString()}${start.stdout.toString()}`);
  return {
    url: `postgres://bunker@127.0.0.1:${port}/postgres`,
    async stop() {
      Bun.spawnSync(wrap([pgBin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]), { stdout: "pipe", stderr: "pipe" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For a suite that runs on both stores: starts PostgreSQL before the file's tests and stops it after, and gives
 * `describe.each` one opener per store (each SQLite open is a fresh file). */
export function bothDatabases(label: string): Array<[string, () => Database]> {
  let pg: TestPostgres | undefined;
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  beforeAll(async () => void (pg = await startPostgres()), 60_000);
  afterAll(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return [
    ["SQLite", () => openDatabase({ sqlitePath: join(dir, `${crypto.randomUUID()}.db`) })],
    ["PostgreSQL", () => openDatabase({ url: pg!.url, sqlitePath: "" })],
  ];
}
