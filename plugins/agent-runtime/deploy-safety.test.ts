// Deploys never read the host as root on a tenant's behalf (issue #15.2), tried as an attacker would: two API keys,
// requests through bunker.handle, root-only files, symlinks, fifos, hostile archives (links out, "..", absolute
// names, a gzip bomb), and another user's templates and sessions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "../liteboxd/index";
import agentRuntime from "./index";

const tmp = mkdtempSync(join(tmpdir(), "agent-deploy-safety-"));
const roots = join(tmp, "roots");
const outside = join(tmp, "outside");
const echoAgent = join(import.meta.dir, "examples", "echo-agent");
const SECRET = "Secr3t-db-password-4711";

let keyed: Bunker; // API keys and deployRoots
let noRoots: Bunker; // API keys, no deployRoots
let alice: string;
let bob: string;
let carol: string;

function boot(name: string, agentConfig: Record<string, unknown>) {
  return createBunker({
    builtins: false,
    plugins: [liteboxd, agentRuntime],
    config: {
      dataDir: join(tmp, name),
      log: { level: "silent" },
      plugins: { liteboxd: { warmPool: 0 }, "agent-runtime": agentConfig },
    },
  });
}

beforeAll(async () => {
  mkdirSync(roots, { recursive: true });
  mkdirSync(outside, { recursive: true });
  keyed = await boot("keyed", { deployRoots: [roots, join(tmp, "tenants", "{user}")], maxArchiveExpandedMb: 4, maxArchiveEntries: 50 });
  noRoots = await boot("no-roots", {});
  await Promise.all([keyed.start(), noRoots.start()]);
  alice = (await keyed.keys.create("alice")).key;
  bob = (await keyed.keys.create("bob")).key;
  carol = (await noRoots.keys.create("carol")).key;
});
afterAll(async () => {
  await Promise.all([keyed?.stop(), noRoots?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

const call = (b: Bunker, key: string, method: string, path: string, body?: unknown) =>
  b.handle(
    new Request(`http://localhost${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
const deployPath = (b: Bunker, key: string, path: string) => call(b, key, "POST", "/agent-runtime/agents/deploy", { path });
const upload = (b: Bunker, key: string, archive: Uint8Array, query = "") =>
  b.handle(
    new Request(`http://localhost/agent-runtime/agents/deploy/archive${query}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/gzip" },
      body: new Uint8Array(archive),
    }),
  );

async function failure(res: Response) {
  const text = await res.text();
  return { status: res.status, text, error: (JSON.parse(text) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error };
}

/** A copy of the echo agent under dir, named name. */
function project(dir: string, name = "echo-agent"): string {
  cpSync(echoAgent, dir, { recursive: true });
  if (name !== "echo-agent") writeFileSync(join(dir, "agent.yaml"), readFileSync(join(dir, "agent.yaml"), "utf8").replace("name: echo-agent", `name: ${name}`));
  return dir;
}

const validYaml = (name: string) => `apiVersion: v1\nkind: Agent\nmetadata:\n  name: ${name}\n  version: "1"\n  author: ops@example.com\nspec:\n  entrypoint: agent.ts\n`;

/** A root-only file outside every deploy root. */
function rootOnly(name: string, text: string): string {
  const path = join(outside, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

// A tar stream built by hand: the attacks below are entries no well-behaved tar writes.
interface Entry {
  name: string;
  type?: "0" | "1" | "2" | "5";
  body?: Uint8Array | string;
  link?: string;
  /** Declared size, when it differs from the body's (a bomb's header). */
  size?: number;
}
function tarHeader(e: Entry): Uint8Array {
  const h = new Uint8Array(512);
  const put = (offset: number, value: string) => h.set(new TextEncoder().encode(value), offset);
  const body = typeof e.body === "string" ? new TextEncoder().encode(e.body) : (e.body ?? new Uint8Array(0));
  put(0, e.name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, `${(e.size ?? body.byteLength).toString(8).padStart(11, "0")}\0`);
  put(136, `${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`);
  put(148, "        ");
  put(156, e.type ?? "0");
  put(157, e.link ?? "");
  put(257, "ustar\0");
  put(263, "00");
  put(148, `${h.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `);
  return h;
}
function tarOf(entries: Entry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const body = typeof e.body === "string" ? new TextEncoder().encode(e.body) : (e.body ?? new Uint8Array(0));
    parts.push(tarHeader(e), body, new Uint8Array((512 - (body.byteLength % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(parts));
}
const echoEntries = (name = "echo-agent"): Entry[] => [
  { name: "agent.yaml", body: validYaml(name) },
  { name: "agent.ts", body: readFileSync(join(echoAgent, "agent.ts"), "utf8") },
];
const stagingDirs = (b: Bunker) => {
  const dir = join(b.config.dataDir, "plugins", "agent-runtime", "projects");
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe("deploy by path with API keys", () => {
  test("without deployRoots it is refused with 403 PATH_DEPLOY_DISABLED, and /etc/shadow is never read", async () => {
    const firstLine = readFileSync("/etc/shadow", "utf8").split("\n")[0]!;
    const res = await failure(await deployPath(noRoots, carol, "/etc/shadow"));
    expect(res.status).toBe(403);
    expect(res.error.code).toBe("PATH_DEPLOY_DISABLED");
    expect(res.text).not.toContain(firstLine);
    expect(res.text).not.toContain("root:");
  });

  test("a root-only YAML file with a password is refused (no roots: 403; outside the roots: 403), never quoted", async () => {
    const file = rootOnly("database.yaml", `database:\n  password: ${SECRET}\n`);
    for (const [b, key, code] of [[noRoots, carol, "PATH_DEPLOY_DISABLED"], [keyed, alice, "PATH_NOT_ALLOWED"]] as const) {
      const res = await failure(await deployPath(b, key, file));
      expect(res.status).toBe(403);
      expect(res.error.code).toBe(code);
      expect(res.text).not.toContain(SECRET);
    }
  });

  test("a server-side agent.yaml that is not valid is reported by file, line and field, never by its values", async () => {
    const dir = join(roots, "not-an-agent");
    mkdirSync(dir);
    writeFileSync(join(dir, "agent.yaml"), `database:\n  password: ${SECRET}\n`, { mode: 0o600 });
    const invalid = await failure(await deployPath(keyed, alice, dir));
    expect(invalid.status).toBe(400);
    expect(invalid.error.code).toBe("INVALID_AGENT_CONFIG");
    expect(invalid.error.message).toContain(join(dir, "agent.yaml"));
    expect(invalid.error.message).toContain("database");
    expect(invalid.text).not.toContain(SECRET);
    writeFileSync(join(dir, "agent.yaml"), `password: "${SECRET}\n  also: [${SECRET}\n`);
    const broken = await failure(await deployPath(keyed, alice, dir));
    expect(broken.status).toBe(400);
    expect(broken.error.message).toMatch(/agent\.yaml:\d+: invalid YAML/);
    expect(broken.text).not.toContain(SECRET);
  });

  test("a project folder that is a symlink out of the roots is refused with 403", async () => {
    symlinkSync(outside, join(roots, "door"));
    const res = await failure(await deployPath(keyed, alice, join(roots, "door")));
    expect(res.status).toBe(403);
    expect(res.error.code).toBe("PATH_NOT_ALLOWED");
  });

  test("an agent.yaml symlinked to a host file is refused (400 naming it), not read and not rewritten", async () => {
    const target = rootOnly("agent.yaml", `${validYaml("host-agent")}# ${SECRET}\n`);
    const before = readFileSync(target, "utf8");
    const dir = project(join(roots, "linked-yaml"));
    rmSync(join(dir, "agent.yaml"));
    symlinkSync(target, join(dir, "agent.yaml"));
    const res = await failure(await deployPath(keyed, alice, dir));
    expect(res.status).toBe(400);
    expect(res.error.code).toBe("PROJECT_FILE_REFUSED");
    expect(res.error.message).toContain("agent.yaml");
    expect(res.text).not.toContain(SECRET);
    expect(readFileSync(target, "utf8")).toBe(before); // the status write-back never went through the link
  });

  test("a project file symlinked out of the project is refused, naming it", async () => {
    const dir = project(join(roots, "linked-file"), "linked-file");
    symlinkSync(rootOnly("token.txt", SECRET), join(dir, "token.txt"));
    const res = await failure(await deployPath(keyed, alice, dir));
    expect(res.status).toBe(400);
    expect(res.error.code).toBe("PROJECT_FILE_REFUSED");
    expect(res.error.message).toContain("token.txt");
    expect(res.text).not.toContain(SECRET);
  });

  test("a fifo in the project is refused at once instead of hanging the deploy", async () => {
    const dir = project(join(roots, "with-fifo"), "with-fifo");
    expect(Bun.spawnSync(["mkfifo", join(dir, "pipe")]).exitCode).toBe(0);
    const res = await failure(await deployPath(keyed, alice, dir));
    expect(res.status).toBe(400);
    expect(res.error.code).toBe("PROJECT_FILE_REFUSED");
    expect(res.error.message).toContain("pipe");
  });

  test("the status goes into a regular agent.yaml atomically, and never through a symlink inside the project", async () => {
    const dir = project(join(roots, "inner-link"), "inner-link");
    mkdirSync(join(dir, "config"));
    const real = join(dir, "config", "agent.yaml");
    cpSync(join(dir, "agent.yaml"), real);
    rmSync(join(dir, "agent.yaml"));
    symlinkSync("config/agent.yaml", join(dir, "agent.yaml"));
    const before = readFileSync(real, "utf8");
    expect((await deployPath(keyed, alice, dir)).status).toBe(201);
    expect(readFileSync(real, "utf8")).toBe(before);

    const plain = project(join(roots, "plain"), "plain-agent");
    expect((await deployPath(keyed, alice, plain)).status).toBe(201);
    expect(readFileSync(join(plain, "agent.yaml"), "utf8")).toContain("phase: deployed");
    expect(readdirSync(plain).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("a `{user}` deploy root is the caller's own: alice deploys from hers, not from bob's", async () => {
    const mine = project(join(tmp, "tenants", "alice", "mine"), "alice-own");
    const theirs = project(join(tmp, "tenants", "bob", "theirs"), "bob-own");
    expect((await deployPath(keyed, alice, mine)).status).toBe(201);
    const res = await failure(await deployPath(keyed, alice, theirs));
    expect(res.status).toBe(403);
    expect(res.error.code).toBe("PATH_NOT_ALLOWED");
  });
});

describe("archive uploads", () => {
  test("an agent.yaml symlinked to a host file is refused with 400 naming the entry", async () => {
    const target = rootOnly("leak.yaml", `password: ${SECRET}\n`);
    for (const link of [target, "../../../../../../../../etc/shadow"]) {
      const res = await failure(await upload(keyed, alice, tarOf([{ name: "agent.yaml", type: "2", link }, echoEntries()[1]!])));
      expect(res.status).toBe(400);
      expect(res.error.code).toBe("INVALID_ARCHIVE");
      expect(res.error.message).toContain("agent.yaml");
      expect(res.text).not.toContain(SECRET);
    }
    expect(stagingDirs(keyed)).toEqual([]);
  });

  test("symlinks and hard links out of the project are refused, naming the entry; links inside are kept", async () => {
    const hostile: Entry[][] = [
      [{ name: "etc", type: "2", link: "/etc" }],
      [{ name: "sub/up", type: "2", link: "../.." }],
      [{ name: "here", type: "2", link: "." }, { name: "away", type: "2", link: "here/.." }], // a chain: "here/.." is the parent
      [{ name: "dir", type: "2", link: "." }, { name: "dir/escape", body: "x" }],
      [{ name: "passwd", type: "1", link: "etc/passwd" }],
    ];
    for (const extra of hostile) {
      const res = await failure(await upload(keyed, alice, tarOf([...echoEntries(), ...extra])));
      expect(res.status).toBe(400);
      expect(res.error.code).toBe("INVALID_ARCHIVE");
      expect(res.error.details?.entry).toBe(extra.at(-1)!.name);
    }
    const inside = tarOf([...echoEntries("links-inside"), { name: "lib/util.ts", body: "export const x = 1;\n" }, { name: "util.ts", type: "2", link: "lib/util.ts" }, { name: "copy.ts", type: "1", link: "lib/util.ts" }]);
    expect((await upload(keyed, alice, inside)).status).toBe(201);
    expect(stagingDirs(keyed)).toEqual([]);
  });

  test("'..' and absolute entry names are refused with 400 naming the entry, and nothing is written outside", async () => {
    for (const name of ["../escaped.txt", "sub/../../escaped.txt", "/tmp/escaped.txt"]) {
      const res = await failure(await upload(keyed, alice, tarOf([...echoEntries(), { name, body: "owned" }])));
      expect(res.status).toBe(400);
      expect(res.error.code).toBe("INVALID_ARCHIVE");
      expect(res.error.message).toContain(name);
    }
    expect(existsSync("/tmp/escaped.txt")).toBe(false);
    expect(readdirSync(join(keyed.config.dataDir, "plugins", "agent-runtime")).filter((f) => f.includes("escaped"))).toEqual([]);
    expect(stagingDirs(keyed)).toEqual([]);
  });

  test("a 2 MB gzip of 2 GB stops at the expanded-size cap with 413, and nothing is left on disk", async () => {
    // 2048 entries of 1 MiB of zeros, each entry its own gzip member (the format allows concatenated members).
    const zeros = gzipSync(new Uint8Array(1024 * 1024), { level: 9 });
    const members: Uint8Array[] = [];
    for (let i = 0; i < 2048; i++) members.push(gzipSync(tarHeader({ name: `blob-${i}.bin`, size: 1024 * 1024 })), zeros);
    const bomb = Buffer.concat(members);
    expect(bomb.byteLength).toBeLessThan(3 * 1024 * 1024);
    const res = await failure(await upload(keyed, alice, bomb));
    expect(res.status).toBe(413);
    expect(res.error.code).toBe("ARCHIVE_TOO_LARGE");
    expect(stagingDirs(keyed)).toEqual([]);
    // One entry that claims 2 GiB is stopped by its header alone.
    const one = await failure(await upload(keyed, alice, tarOf([{ name: "huge.bin", size: 2 * 1024 ** 3 }])));
    expect(one.status).toBe(413);
  });

  test("more entries than maxArchiveEntries is a 413", async () => {
    const many = Array.from({ length: 60 }, (_, i): Entry => ({ name: `f${i}.txt`, body: "" }));
    const res = await failure(await upload(keyed, alice, tarOf([...echoEntries(), ...many])));
    expect(res.status).toBe(413);
    expect(stagingDirs(keyed)).toEqual([]);
  });

  test("a fifo or device entry is refused", async () => {
    const res = await failure(await upload(keyed, alice, tarOf([...echoEntries(), { name: "pipe", type: "6" as "0" }])));
    expect(res.status).toBe(400);
    expect(res.error.details?.entry).toBe("pipe");
  });
});

describe("templates and sessions belong to their deployer", () => {
  test("another user's template and session are 404 on every route, and its id cannot be taken over", async () => {
    expect((await upload(keyed, alice, tarOf(echoEntries("alice-agent")))).status).toBe(201);
    const created = await call(keyed, alice, "POST", "/agent-runtime/sessions", { template_id: "alice-agent" });
    expect(created.status).toBe(201);
    const session = ((await created.json()) as { session_id: string }).session_id;
    try {
      const tpl = "/agent-runtime/templates/alice-agent";
      for (const [method, path, body] of [
        ["GET", tpl],
        ["POST", `${tpl}/invocations`, { prompt: "hi" }],
        ["POST", "/agent-runtime/sessions", { template_id: "alice-agent" }],
        ["GET", `/agent-runtime/sessions/${session}`],
        ["GET", `/agent-runtime/sessions/${session}/ping`],
        ["POST", `/agent-runtime/sessions/${session}/invocations`, { prompt: "hi" }],
        ["POST", `/agent-runtime/sessions/${session}/pause`],
        ["POST", `/agent-runtime/sessions/${session}/resume`],
        ["POST", `/agent-runtime/sessions/${session}/refresh`, {}],
        ["DELETE", `/agent-runtime/sessions/${session}`],
        ["GET", "/api/v1/templates/alice-agent"], // the liteboxd template behind it is alice's too
      ] as [string, string, unknown?][]) {
        const res = await call(keyed, bob, method, path, body);
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 404`);
      }
      expect(await (await call(keyed, bob, "GET", `${tpl}/exists`)).json()).toEqual({ exists: false });
      expect(((await (await call(keyed, bob, "GET", "/agent-runtime/templates")).json()) as { templates: unknown[] }).templates).toEqual([]);
      expect(((await (await call(keyed, bob, "GET", "/agent-runtime/sessions")).json()) as { sessions: unknown[] }).sessions).toEqual([]);
      expect(await (await call(keyed, bob, "DELETE", "/agent-runtime/sessions")).json()).toEqual({ closed: 0 });
      // Redeploying alice's id as bob is refused, and alice's template is unchanged.
      const taken = await failure(await upload(keyed, bob, tarOf(echoEntries("alice-agent"))));
      expect(taken.status).toBe(409);
      expect(taken.error.code).toBe("TEMPLATE_TAKEN");
      const mine = (await (await call(keyed, alice, "GET", tpl)).json()) as { template_version: number };
      expect(mine.template_version).toBe(1);
      expect(((await (await call(keyed, alice, "GET", `/agent-runtime/sessions/${session}`)).json()) as { status: string }).status).toBe("active");
    } finally {
      await call(keyed, alice, "DELETE", `/agent-runtime/sessions/${session}`);
    }
  });
});
