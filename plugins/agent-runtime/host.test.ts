// The host's own rules, through bunker.handle: deploy validation, ownership, not-found codes, and a clear 503
// (plus a /health warning) while no sandbox backend is available.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import liteboxd from "../liteboxd/index";
import agentRuntime from "./index";

const tmp = mkdtempSync(join(tmpdir(), "agent-host-"));
let bunker: Bunker;

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd, agentRuntime],
    config: { dataDir: join(tmp, "data"), log: { level: "silent" }, plugins: { "agent-runtime": { deployRoots: [tmp], binaryFiles: false } } },
  });
  await bunker.start();
});
afterAll(async () => {
  await bunker.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const call = (method: string, path: string, body?: unknown) =>
  bunker.handle(
    new Request(`http://localhost/agent-runtime${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );

describe("deploy validation", () => {
  test("an invalid agent.yaml is a 400 naming the file, the field and the rule", async () => {
    const dir = join(tmp, "bad-agent");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    writeFileSync(join(dir, "agent.yaml"), "apiVersion: v1\nkind: Agent\nmetadata:\n  name: Bad_Name\n  version: '1'\n  author: x@y.z\nspec:\n  entrypoint: agent.ts\n");
    const res = await call("POST", "/agents/deploy", { path: dir });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; details: { issues: { field: string }[] } } };
    expect(body.error.code).toBe("INVALID_AGENT_CONFIG");
    expect(body.error.message).toContain(join(dir, "agent.yaml"));
    expect(body.error.message).toContain("metadata.name: must be a DNS label");
    expect(body.error.details.issues[0]!.field).toBe("metadata.name");
  });

  test("an entrypoint missing from the project is a 400", async () => {
    const dir = join(tmp, "no-entry");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    rmSync(join(dir, "agent.ts"));
    const res = await call("POST", "/agents/deploy", { path: dir });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("agent.ts does not exist");
  });

  test("an entrypoint in a folder that is never shipped (.venv) is a 400 naming it", async () => {
    const dir = join(tmp, "venv-entry");
    mkdirSync(join(dir, ".venv"), { recursive: true });
    writeFileSync(join(dir, ".venv", "agent.py"), "print('never shipped')\n");
    writeFileSync(join(dir, "agent.yaml"), "apiVersion: v1\nkind: Agent\nmetadata:\n  name: venv-entry\n  version: '1'\n  author: x@y.z\nspec:\n  entrypoint: .venv/agent.py\n");
    const res = await call("POST", "/agents/deploy", { path: dir });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("INVALID_AGENT_CONFIG");
    expect(body.error.message).toContain(".venv/agent.py");
  });

  test("an agent.yaml over 256 KiB is a 413 before it is parsed; a sparse 1 GiB one is refused without being read", async () => {
    const dir = join(tmp, "big-yaml");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    writeFileSync(join(dir, "agent.yaml"), `apiVersion: v1\nkind: Agent\nmetadata:\n  name: big-yaml\n  version: '1'\n  author: x@y.z\nspec:\n  entrypoint: agent.ts\n${"# padding\n".repeat(30_000)}`);
    const big = await call("POST", "/agents/deploy", { path: dir });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("AGENT_CONFIG_TOO_LARGE");
    truncateSync(join(dir, "agent.yaml"), 1024 ** 3);
    const sparse = await call("POST", "/agents/deploy", { path: dir });
    expect(sparse.status).toBe(413);
  });

  test("template ids over 128 characters and paths over 4096 are refused by validation (400)", async () => {
    const dir = join(tmp, "ids");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    const code = async (res: Response) => `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`;
    expect(await code(await call("POST", "/agents/deploy", { path: dir, template_id: "t".repeat(129) }))).toBe("400 VALIDATION_FAILED");
    expect(await code(await call("POST", "/agents/deploy", { path: `/${"p".repeat(4096)}` }))).toBe("400 VALIDATION_FAILED");
    expect(await code(await call("POST", "/sessions", { template_id: "t".repeat(129) }))).toBe("400 VALIDATION_FAILED");
    const upload = await bunker.handle(new Request(`http://localhost/agent-runtime/agents/deploy/archive?template_id=${"t".repeat(129)}`, { method: "POST", body: "x" }));
    expect(await code(upload)).toBe("400 VALIDATION_FAILED");
  });
});

describe("binary files", () => {
  test("with binaryFiles off, a project with a file that is not UTF-8 text is refused with a 400 naming the file", async () => {
    const dir = join(tmp, "with-binary");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    writeFileSync(join(dir, "logo.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]));
    const res = await call("POST", "/agents/deploy", { path: dir });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("BINARY_FILE_UNSUPPORTED");
    expect(body.error.message).toContain("logo.png");
    expect(((await (await call("GET", "/templates/echo-agent")).json()) as { status: string }).status).toBe("failed");
  });
});

describe("deploy roots", () => {
  test("a path outside the configured deploy roots is refused with 403", async () => {
    const res = await call("POST", "/agents/deploy", { path: join(import.meta.dir, "examples", "echo-agent") });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PATH_NOT_ALLOWED");
  });

  test("a relative path is refused", async () => {
    expect((await call("POST", "/agents/deploy", { path: "examples/echo-agent" })).status).toBe(400);
  });
});

describe("archive uploads", () => {
  test("an uploaded project is unpacked and its agent.yaml validated like a directory's", async () => {
    const dir = join(tmp, "upload-src", "my-agent");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    writeFileSync(join(dir, "agent.yaml"), "apiVersion: v1\nkind: Agent\nmetadata:\n  name: up\n  version: '1'\n  author: nobody\nspec:\n  entrypoint: agent.ts\n");
    const archive = join(tmp, "agent.tar.gz");
    expect(Bun.spawnSync(["tar", "-czf", archive, "-C", join(tmp, "upload-src"), "my-agent"]).exitCode).toBe(0);
    const res = await bunker.handle(
      new Request("http://localhost/agent-runtime/agents/deploy/archive", { method: "POST", body: Bun.file(archive), headers: { "content-type": "application/gzip" } }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { details: { issues: { field: string; rule: string }[] } } };
    expect(body.error.details.issues[0]).toMatchObject({ field: "metadata.author", rule: "an email address" });
  });

  test("an uploaded agent.yaml that is an alias bomb is a 400 INVALID_AGENT_CONFIG, not a 500", async () => {
    const dir = join(tmp, "bomb-src", "bomb-agent");
    cpSync(join(import.meta.dir, "examples", "echo-agent"), dir, { recursive: true });
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [name, prev] of ["ba", "cb", "dc", "ed", "fe", "gf", "hg", "ih"]) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    writeFileSync(join(dir, "agent.yaml"), `${lines.join("\n")}\n`);
    const archive = join(tmp, "bomb.tar.gz");
    expect(Bun.spawnSync(["tar", "-czf", archive, "-C", join(tmp, "bomb-src"), "bomb-agent"]).exitCode).toBe(0);
    const res = await bunker.handle(
      new Request("http://localhost/agent-runtime/agents/deploy/archive", { method: "POST", body: Bun.file(archive), headers: { "content-type": "application/gzip" } }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("INVALID_AGENT_CONFIG");
    expect(body.error.message).toContain("invalid YAML");
  });

  test("a body that is not a gzip archive is a 400", async () => {
    const res = await bunker.handle(new Request("http://localhost/agent-runtime/agents/deploy/archive", { method: "POST", body: "not an archive" }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("INVALID_ARCHIVE");
  });
});

describe("not found", () => {
  test("unknown templates and sessions answer 404 with stable codes", async () => {
    const tpl = await call("GET", "/templates/nope");
    expect(tpl.status).toBe(404);
    expect(((await tpl.json()) as { error: { code: string } }).error.code).toBe("TEMPLATE_NOT_FOUND");
    const session = await call("GET", "/sessions/nope");
    expect(((await session.json()) as { error: { code: string } }).error.code).toBe("SESSION_NOT_FOUND");
    const exists = await call("GET", "/templates/nope/exists");
    expect(await exists.json()).toEqual({ exists: false });
    expect(await (await call("GET", "/sessions")).json()).toEqual({ sessions: [] });
  });
});
