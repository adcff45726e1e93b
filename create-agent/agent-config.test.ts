import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AgentConfigError,
  AgentConfigSchema,
  entrypointCommand,
  loadAgentConfig,
  parseAgentConfig,
  validateAgentConfig,
  writeAgentConfig,
  type AgentConfig,
} from "./agent-config";

const dir = mkdtempSync(join(tmpdir(), "agent-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED_YAML = `# agent.yaml - the seed's example
apiVersion: v1
kind: Agent
metadata:
  name: my-langgraph-agent          # lowercase, digits and dashes
  version: "1.0.0"
  author: "developer@example.com"   # required
  description: "A LangGraph-based AI agent"
  created: "2024-01-15T10:30:00Z"

spec:
  entrypoint: "agent.py"

  # runtime resources
  runtime:
    timeout: 60
    memory_limit: "1Gi"
    cpu_limit: "1"

  sandbox:
    template_id: "tmpl_abc123"
`;

function issuesOf(value: unknown): AgentConfigError {
  try {
    validateAgentConfig(value, "proj/agent.yaml");
  } catch (error) {
    if (error instanceof AgentConfigError) return error;
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

const valid = (): AgentConfig => ({
  apiVersion: "v1",
  kind: "Agent",
  metadata: { name: "echo", version: "1.0.0", author: "dev@example.com" },
  spec: { entrypoint: "agent.ts" },
});

describe("loading agent.yaml", () => {
  test("the seed's example loads from a project directory", async () => {
    const project = join(dir, "seed");
    mkdirSync(project);
    writeFileSync(join(project, "agent.yaml"), SEED_YAML);
    const config = await loadAgentConfig(project);
    expect(config.metadata.name).toBe("my-langgraph-agent");
    expect(config.spec.runtime?.memory_limit).toBe("1Gi");
    expect(config.spec.sandbox?.template_id).toBe("tmpl_abc123");
  });

  test("a YAML syntax error names the file and the line", async () => {
    const file = join(dir, "broken.yaml");
    writeFileSync(file, "apiVersion: v1\nkind: [Agent\n");
    const error = await loadAgentConfig(file).catch((e) => e);
    expect(error).toBeInstanceOf(AgentConfigError);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/invalid YAML/);
  });

  test("a missing file is an error naming it", async () => {
    const error = await loadAgentConfig(join(dir, "nope")).catch((e) => e);
    expect(error.message).toContain("nope");
  });

  test("an alias bomb is an AgentConfigError (YAML's alias limit), not a crash", () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [name, prev] of ["ba", "cb", "dc", "ed", "fe", "gf", "hg", "ih"]) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    const bomb = lines.join("\n");
    for (const quote of [true, false]) {
      let error: unknown;
      try {
        parseAgentConfig(bomb, "bomb.yaml", { quote });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AgentConfigError);
      expect((error as AgentConfigError).message).toStartWith("bomb.yaml: invalid YAML");
    }
  });

  test("without quoting, messages name the file, the line and the field but no value", () => {
    const error = (text: string) => {
      try {
        parseAgentConfig(text, "server.yaml", { quote: false });
      } catch (e) {
        return (e as AgentConfigError).message;
      }
      throw new Error("expected the config to be rejected");
    };
    expect(error("password: hunter2\n")).not.toContain("hunter2");
    expect(error("password: hunter2\n")).toContain("server.yaml: password: must be");
    expect(error('a: "hunter2\n  b: [hunter2\n')).toMatch(/^server\.yaml:\d+: invalid YAML \([A-Z_]+\)/);
    expect(error('a: "hunter2\n  b: [hunter2\n')).not.toContain("hunter2");
  });
});

describe("validation rules", () => {
  test("the name must be a DNS label", () => {
    const config = valid();
    config.metadata.name = "My_Agent";
    const error = issuesOf(config);
    expect(error.issues[0]!.field).toBe("metadata.name");
    expect(error.message).toContain("proj/agent.yaml: metadata.name: must be a DNS label");
    expect(error.message).toContain('"My_Agent"');
  });

  test("the author must be an email and is required", () => {
    const config = valid();
    config.metadata.author = "not-an-email";
    expect(issuesOf(config).issues[0]).toMatchObject({ field: "metadata.author", rule: "an email address" });
    const { author: _, ...noAuthor } = valid().metadata;
    const missing = issuesOf({ ...valid(), metadata: noAuthor });
    expect(missing.issues.map((i) => i.field)).toContain("metadata.author");
    expect(missing.message).toContain("missing");
  });

  test("timeout must be 1 to 3600, memory like 512Mi/1Gi, cpu like 1/1000m", () => {
    for (const [runtime, field] of [
      [{ timeout: 0 }, "spec.runtime.timeout"],
      [{ timeout: 3601 }, "spec.runtime.timeout"],
      [{ memory_limit: "1GB" }, "spec.runtime.memory_limit"],
      [{ cpu_limit: "two" }, "spec.runtime.cpu_limit"],
    ] as const) {
      const error = issuesOf({ ...valid(), spec: { entrypoint: "agent.ts", runtime } });
      expect(error.issues[0]!.field).toBe(field);
    }
    expect(() => validateAgentConfig({ ...valid(), spec: { entrypoint: "a.py", runtime: { timeout: 3600, memory_limit: "512Mi", cpu_limit: "1000m" } } })).not.toThrow();
  });

  test("the entrypoint must be a relative .ts, .js or .py file", () => {
    expect(issuesOf({ ...valid(), spec: { entrypoint: "agent.rb" } }).issues[0]!.field).toBe("spec.entrypoint");
    expect(issuesOf({ ...valid(), spec: { entrypoint: "../escape.ts" } }).issues[0]!.field).toBe("spec.entrypoint");
    expect(issuesOf({ ...valid(), spec: { entrypoint: "/abs/agent.py" } }).issues[0]!.field).toBe("spec.entrypoint");
  });

  test("apiVersion, kind and unknown fields are checked", () => {
    const error = issuesOf({ ...valid(), apiVersion: "v2", kind: "Pod", spec: { entrypoint: "a.ts", runtim: {} } });
    const fields = error.issues.map((i) => i.field);
    expect(fields).toContain("apiVersion");
    expect(fields).toContain("kind");
    expect(fields).toContain("spec.runtim");
  });

  test("the status phase is one of the deployment phases", () => {
    expect(issuesOf({ ...valid(), status: { phase: "running" } }).issues[0]!.field).toBe("status.phase");
    expect(() => validateAgentConfig({ ...valid(), status: { phase: "deployed", template_id: "t1" } })).not.toThrow();
  });

  test("the schema is plain TypeBox JSON Schema", () => {
    expect(AgentConfigSchema.type).toBe("object");
    expect(AgentConfigSchema.required as string[]).toEqual(["apiVersion", "kind", "metadata", "spec"]);
  });
});

describe("writing agent.yaml", () => {
  test("writing back a deploy status keeps comments and key order", async () => {
    const file = join(dir, "write.yaml");
    writeFileSync(file, SEED_YAML);
    const config = await loadAgentConfig(file);
    config.spec.runtime!.timeout = 120;
    config.status = { phase: "deployed", template_id: "tpl-9", last_deployed: "2026-01-01T00:00:00Z", build_id: "b-1" };
    await writeAgentConfig(file, config);
    const text = await Bun.file(file).text();
    expect(text).toContain("# agent.yaml - the seed's example");
    expect(text).toContain("# lowercase, digits and dashes");
    expect(text).toContain("# runtime resources");
    expect(text).toContain("timeout: 120");
    expect(text.indexOf("metadata:")).toBeLessThan(text.indexOf("spec:"));
    expect(text.indexOf("spec:")).toBeLessThan(text.indexOf("status:"));
    expect((await loadAgentConfig(file)).status?.template_id).toBe("tpl-9");
  });

  test("a new file is written from scratch and an invalid config is refused", async () => {
    const file = join(dir, "new.yaml");
    await writeAgentConfig(file, valid());
    expect((await loadAgentConfig(file)).metadata.name).toBe("echo");
    const bad = { ...valid(), metadata: { ...valid().metadata, name: "Bad Name" } };
    expect(writeAgentConfig(file, bad)).rejects.toThrow("metadata.name");
  });
});

describe("runtime helpers", () => {
  test("entrypoints run with Bun or Python", () => {
    expect(entrypointCommand(valid())).toEqual(["bun", "run", "agent.ts"]);
    expect(entrypointCommand({ ...valid(), spec: { entrypoint: "agent.py" } })).toEqual(["python3", "-u", "agent.py"]);
  });
});
