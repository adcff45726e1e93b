// Durable sessions on both databases the core supports: SQLite (the default) and PostgreSQL (Debian's, started here).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createBunker } from "bunker/core";
import { join } from "node:path";
import { startPostgres, type TestPostgres } from "../../test/support/postgres";
import uzoncalc from "./index";
import { eventually, makeSafeDir, resume, start, status } from "./testing";

let pg: TestPostgres;
let dir: ReturnType<typeof makeSafeDir>;

beforeAll(async () => {
  pg = await startPostgres();
  dir = makeSafeDir("uzoncalc-store-");
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  dir?.cleanup();
});

const databases: Array<[string, () => string | undefined]> = [
  ["SQLite", () => undefined],
  ["PostgreSQL", () => pg.url],
];

describe.each(databases)("sessions stored in %s", (name, url) => {
  const open = (dataDir: string, config: Record<string, unknown> = {}) =>
    createBunker({
      builtins: false,
      plugins: [uzoncalc],
      config: {
        dataDir,
        ...(url() ? { databaseUrl: url() } : {}),
        log: { level: "silent" },
        plugins: { uzoncalc: { executor: "inprocess", safeDirs: [dir.safe], ...config } },
      },
    });

  test("a waiting session is resumed by a new server on the same database", async () => {
    const dataDir = join(dir.root, `data-${name}`);
    const id = `store-${name}`;
    const a = await open(dataDir);
    try {
      await start(a, { file_path: dir.sheet, func_name: "survey", session_id: id, params: { who: name } });
      await resume(a, id, { name: "Fay", subscribe: true });
    } finally {
      await a.stop();
    }
    const b = await open(dataDir);
    try {
      expect((await status(b, id)).body).toMatchObject({ status: "waiting_input", ui_steps: 1 });
      const done = await resume(b, id, { tags: ["b"] });
      expect(done.body.result).toMatchObject({ name: "Fay", subscribe: true, tags: ["b"] });
      expect(done.body.html.match(/Survey for/g)).toHaveLength(1);
    } finally {
      await b.stop();
    }
  });

  test("finished sessions older than the retention are pruned by the sweep", async () => {
    const b = await open(join(dir.root, `data-prune-${name}`), { retainFinishedMs: 0, sweepIntervalMs: 20 });
    await b.start();
    try {
      const r = await start(b, { file_path: dir.sheet, func_name: "echo", session_id: `prune-${name}` });
      expect(r.body.status).toBe("completed");
      const gone = await eventually(async () => ((await status(b, `prune-${name}`)).status === 404 ? true : undefined));
      expect(gone).toBe(true);
    } finally {
      await b.stop();
    }
  });
});
