// Public keys stored on both databases the core supports: SQLite and PostgreSQL (Debian's, started here).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createBunker } from "bunker/core";
import { startPostgres, type TestPostgres } from "../../test/support/postgres";
import sshGateway from "./index";
import { createKeyService, parsePublicKey } from "./keys";
import { createKeyStore } from "./store";
import { LITEBOXD_PLUGIN, tempDir } from "./testkit";

let pg: TestPostgres;
const dir = tempDir("ssh-gateway-store-");

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function keygen(name: string): string {
  const file = join(dir, name);
  Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  return readFileSync(`${file}.pub`, "utf8");
}

const databases: Array<[string, () => string | undefined]> = [
  ["SQLite", () => undefined],
  ["PostgreSQL", () => pg.url],
];

describe.each(databases)("keys stored in %s", (name, url) => {
  test("keys survive a restart, and a presented key finds exactly the users who registered it", async () => {
    const dataDir = join(dir, name);
    const open = () => createBunker({
      builtins: false, plugins: [sshGateway],
      config: { extraPlugins: [LITEBOXD_PLUGIN], dataDir, ...(url() ? { databaseUrl: url() } : {}), log: { level: "silent" }, plugins: { liteboxd: { warmPool: 0 } } },
    });
    const shared = keygen(`shared-${name}`);
    const own = keygen(`own-${name}`);
    let bunker = await open();
    let keys = createKeyService(createKeyStore(bunker.db));
    const a = await keys.add("alice", shared, "laptop");
    await keys.add("bob", shared);
    await keys.add("bob", own);
    await expect(keys.add("alice", shared)).rejects.toThrow("already registered");
    await bunker.stop();

    bunker = await open();
    keys = createKeyService(createKeyStore(bunker.db));
    try {
      expect((await keys.list("alice")).map((k) => [k.id, k.name])).toEqual([[a.id, "laptop"]]);
      expect((await keys.ownersOf(parsePublicKey(shared).blob)).sort()).toEqual(["alice", "bob"]);
      expect(await keys.ownersOf(parsePublicKey(own).blob)).toEqual(["bob"]);
      await keys.remove("alice", a.id);
      await expect(keys.remove("alice", a.id)).rejects.toThrow("not found");
      expect(await keys.ownersOf(parsePublicKey(shared).blob)).toEqual(["bob"]);
    } finally {
      await bunker.stop();
    }
  });
});
