// Scaffolds every template through the real bin, then runs what it generated: its tests, and the agent itself.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadAgentConfig } from "./agent-config";
import { eventually } from "../test/support/eventually";
import { createAgent, freePort, quietly, run, useWorkspace } from "./test-support";

const { cwd, env } = useWorkspace();

function allFiles(dir: string, at = ""): string[] {
  return readdirSync(join(dir, at)).flatMap((name) => {
    if (name === "node_modules" || name === ".git") return [];
    const rel = at ? `${at}/${name}` : name;
    return statSync(join(dir, rel)).isDirectory() ? allFiles(dir, rel) : [rel];
  });
}

async function scaffoldJson(args: string[]) {
  const result = await createAgent([...args, "--no-interactive", "--no-git", "--json"], { cwd, env });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe("scaffolding a Bun template without questions", () => {
  for (const template of ["basic", "streaming"]) {
    test(`the ${template} template gives a project whose own test passes after a real bun install`, async () => {
      const out = await scaffoldJson([`${template}-agent`, "-t", template, "--description", `The "${template}" one: with quotes`]);
      const dir = join(cwd, `${template}-agent`);
      expect(out).toMatchObject({ ok: true, dir, template, install: { ran: true, ok: true }, git: { ran: false } });
      expect(out.files).toEqual([".gitignore", "README.md", "agent.test.ts", "agent.ts", "agent.yaml", "package.json", "tsconfig.json"]);
      for (const file of allFiles(dir)) expect(readFileSync(join(dir, file), "utf8")).not.toMatch(/\{\{\s*\w+\s*\}\}/);

      const config = await loadAgentConfig(dir);
      expect(config.metadata).toMatchObject({ name: `${template}-agent`, author: "tester@example.com", description: `The "${template}" one: with quotes` });
      expect(Math.abs(Date.parse(config.metadata.created!) - Date.now())).toBeLessThan(60_000);
      expect(config.spec.entrypoint).toBe("agent.ts");

      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      expect(pkg.name).toBe(`${template}-agent`);
      expect(pkg.dependencies.bunker).toBe(`link:${join(import.meta.dir, "..")}`);
      expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("bun run deploy");

      const tests = await run([process.execPath, "test"], { cwd: dir, env });
      expect(tests.code).toBe(0);
      expect(tests.stderr).toMatch(/\b[1-9]\d* pass\b/);
      expect(tests.stderr).toContain(" 0 fail");

      // and it type-checks with its own tsconfig (TypeScript from this checkout)
      const tsc = await run([process.execPath, join(import.meta.dir, "..", "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."], { cwd: dir, env });
      expect(tsc.stdout).toBe("");
      expect(tsc.code).toBe(0);
    });
  }
});

describe("scaffolding the Python template", () => {
  let dir: string;
  beforeAll(async () => {
    const out = await scaffoldJson(["py-agent", "--template", "python"]);
    dir = out.dir;
    expect(out.install).toEqual({ ran: false, ok: true, note: "nothing to install" });
    expect(out.next).toEqual(["cd py-agent", "python3 -m unittest", "bunker agent dev", "bunker agent deploy"]);
  });

  test("gives a project whose own unittest passes", async () => {
    const result = await run(["python3", "-m", "unittest", "-v"], { cwd: dir, env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/test_streams_one_frame_per_word .* ok/);
    expect(result.stderr).toMatch(/Ran 4 tests[\s\S]*OK/);
  });

  test("runs with python3 and answers /ping and /invocations over a real port", async () => {
    const port = freePort();
    const agent = Bun.spawn(["python3", "agent.py"], { cwd: dir, env: { ...env, BUNKER_AGENT_PORT: String(port), BUNKER_AGENT_HOST: "127.0.0.1" }, stdout: "ignore", stderr: "pipe" });
    try {
      const base = `http://127.0.0.1:${port}`;
      const ping = await eventually(() => quietly(async () => (await fetch(`${base}/ping`)).json()), "the python agent's /ping", 15_000);
      expect(ping.status).toBe("Healthy");

      const answer = await fetch(`${base}/invocations`, { method: "POST", body: JSON.stringify({ prompt: "hello python" }) });
      expect(answer.status).toBe(200);
      expect((await answer.json()).result).toEqual({ answer: "You asked: hello python", words: 2, session: null });

      const stream = await fetch(`${base}/invocations`, {
        method: "POST",
        headers: { accept: "text/event-stream" },
        body: JSON.stringify({ prompt: "a b c" }),
      });
      expect(stream.headers.get("content-type")).toContain("text/event-stream");
      const frames = (await stream.text()).split("\n\n").filter(Boolean).map((f) => JSON.parse(f.replace(/^data: /, "")));
      expect(frames.map((f) => f.token)).toEqual(["a", "b", "c"]);
    } finally {
      agent.kill();
      await agent.exited;
    }
  });
});

describe("choosing the entrypoint", () => {
  test("moves the template's entrypoint and points the test and agent.yaml at it", async () => {
    const out = await scaffoldJson(["moved", "--entrypoint", "src/main.ts", "--name", "moved-agent"]);
    expect(out.files).toContain("src/main.ts");
    expect(out.files).not.toContain("agent.ts");
    const dir = out.dir;
    expect((await loadAgentConfig(dir)).spec.entrypoint).toBe("src/main.ts");
    expect(readFileSync(join(dir, "agent.test.ts"), "utf8")).toContain('from "./src/main.ts";');
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts.start).toBe("bun src/main.ts");
    const tests = await run([process.execPath, "test"], { cwd: dir, env });
    expect(tests.stderr).toContain(" 0 fail");
    expect(tests.code).toBe(0);
  });

  test("refuses an entrypoint of another language than the template's", async () => {
    const result = await createAgent(["wrong-lang", "--entrypoint", "main.py", "--no-interactive"], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("entrypoint must be a .ts file for the basic template");
    expect(existsSync(join(cwd, "wrong-lang"))).toBe(false);
  });
});

describe("after writing", () => {
  test("runs git init and prints the next commands", async () => {
    const result = await createAgent(["with-git", "--yes", "--no-install"], { cwd, env });
    expect(result.code).toBe(0);
    expect(existsSync(join(cwd, "with-git", ".git", "HEAD"))).toBe(true);
    expect(result.stdout).toContain("Created with-git in");
    expect(result.stdout).toMatch(/Next:\n {2}cd with-git\n {2}bun install\n {2}bun test\n {2}bun run dev\n {2}bun run deploy\n/);
  });
});

describe("listing templates", () => {
  test("--list and --help show every folder in templates/", async () => {
    const list = await createAgent(["--list", "--json"], { cwd, env });
    const names = JSON.parse(list.stdout).templates.map((t: { name: string }) => t.name);
    expect(names).toEqual(["basic", "streaming", "python"]);
    const help = await createAgent(["--help"], { cwd, env });
    for (const name of names) expect(help.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, "m"));
  });
});
