// What create-agent refuses, and that a refusal or a failed write leaves the disk as it was.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAgent, TempDirs, testEnv } from "./test-support";

const temp = new TempDirs();
let env: Record<string, string>;
let home: string;

beforeAll(() => {
  home = temp.make("create-agent-home-");
  env = testEnv(home);
});
afterAll(() => temp.cleanup());

const NO_SIDE_EFFECTS = ["--no-interactive", "--no-install", "--no-git"];

describe("refusing bad answers", () => {
  test("an invalid name is refused with agent.yaml's rule and nothing is created", async () => {
    const cwd = temp.make();
    const result = await createAgent(["proj", "--name", "Not_A_Label", ...NO_SIDE_EFFECTS], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--name: name must be a DNS label");
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("an author that is not an email is refused", async () => {
    const cwd = temp.make();
    const result = await createAgent(["proj", "--author", "somebody", ...NO_SIDE_EFFECTS, "--json"], { cwd, env });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      error: { code: "INVALID_FIELD", message: expect.stringContaining("author must be an email address"), details: { field: "author", value: "somebody" } },
    });
  });

  test("without git's user.email and without --author, the missing flag is named", async () => {
    const cwd = temp.make();
    const noIdentity = testEnv(temp.make("create-agent-home-"), null);
    const result = await createAgent(["proj", ...NO_SIDE_EFFECTS], { cwd, env: noIdentity });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--author EMAIL is needed");
  });

  test("an unknown template is refused with the list of known ones", async () => {
    const cwd = temp.make();
    const result = await createAgent(["proj", "-t", "rust", ...NO_SIDE_EFFECTS, "--json"], { cwd, env });
    expect(result.code).toBe(2);
    const { error } = JSON.parse(result.stdout);
    expect(error.code).toBe("UNKNOWN_TEMPLATE");
    expect(error.message).toBe('unknown template "rust"; known templates: basic, streaming, python');
    expect(error.details.known).toEqual(["basic", "streaming", "python"]);
  });

  test("an unknown flag is a usage error", async () => {
    const result = await createAgent(["proj", "--colour"], { cwd: temp.make(), env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("create-agent --help");
  });
});

describe("refusing to overwrite", () => {
  test("a non-empty directory is refused without --force and left untouched", async () => {
    const cwd = temp.make();
    mkdirSync(join(cwd, "proj"));
    writeFileSync(join(cwd, "proj", "notes.txt"), "mine");
    const result = await createAgent(["proj", ...NO_SIDE_EFFECTS], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("is not empty; use --force");
    expect(readdirSync(join(cwd, "proj"))).toEqual(["notes.txt"]);
    expect(readdirSync(cwd)).toEqual(["proj"]);
  });

  test("an empty directory is fine, and a file in the way is refused", async () => {
    const cwd = temp.make();
    mkdirSync(join(cwd, "empty"));
    expect((await createAgent(["empty", ...NO_SIDE_EFFECTS], { cwd, env })).code).toBe(0);
    expect(existsSync(join(cwd, "empty", "agent.yaml"))).toBe(true);
    writeFileSync(join(cwd, "file"), "x");
    const result = await createAgent(["file", ...NO_SIDE_EFFECTS], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("exists and is not a directory");
  });

  test("--force writes into a non-empty directory, replacing same-named files and keeping the others", async () => {
    const cwd = temp.make();
    mkdirSync(join(cwd, "proj"));
    writeFileSync(join(cwd, "proj", "notes.txt"), "mine");
    writeFileSync(join(cwd, "proj", "README.md"), "old readme");
    const result = await createAgent(["proj", "--force", ...NO_SIDE_EFFECTS], { cwd, env });
    expect(result.code).toBe(0);
    expect(readFileSync(join(cwd, "proj", "notes.txt"), "utf8")).toBe("mine");
    expect(readFileSync(join(cwd, "proj", "README.md"), "utf8")).toStartWith("# proj");
    expect(readdirSync(cwd)).toEqual(["proj"]);
  });
});

describe("a write error leaves nothing half-written", () => {
  test("a file name the filesystem refuses removes everything that was staged", async () => {
    const cwd = temp.make();
    const longName = `${"a".repeat(300)}.ts`;
    const result = await createAgent(["proj", "--entrypoint", longName, ...NO_SIDE_EFFECTS, "--json"], { cwd, env });
    expect(result.code).toBe(1);
    const { error } = JSON.parse(result.stdout);
    expect(error.code).toBe("WRITE_FAILED");
    expect(error.details.cause).toBe("ENAMETOOLONG");
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("with --force, a failure part-way restores every file it had replaced", async () => {
    const cwd = temp.make();
    const dir = join(cwd, "proj");
    mkdirSync(dir);
    writeFileSync(join(dir, "README.md"), "keep me");
    writeFileSync(join(dir, "src"), "a file where the entrypoint's folder must go");
    const result = await createAgent(["proj", "-t", "python", "--entrypoint", "src/agent.py", "--force", ...NO_SIDE_EFFECTS], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("nothing was left behind");
    expect(readdirSync(dir).sort()).toEqual(["README.md", "src"]);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe("keep me");
    expect(readdirSync(cwd)).toEqual(["proj"]);
  });
});
