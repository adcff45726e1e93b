// `bunker agent deploy`: send the project to the server's agent host, follow the build's phases, and write the
// outcome into agent.yaml's `status` (comments kept).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AgentStatus } from "bunker/agent-config";
import type { AgentTemplate, DeployResult } from "../schema";
import { EXCLUDED } from "../skipped";
import { call, resolveConnection, type Connection } from "./connection";
import { CliError, EXIT, usageError } from "./errors";
import { findProject, loadProject, readRaw, saveProject, validated, type Project } from "./project";

export const DEPLOY_USAGE = `usage: bunker agent deploy [--dir DIR] [--template-id ID] [--timeout SEC] [--json]

Uploads the agent project in DIR (default .) to the Bunker server as a .tar.gz (without node_modules, .git, .venv,
.bunker and caches) and deploys it as a template (named metadata.name unless --template-id says otherwise), prints the build's
phases as they change, and writes the resulting status into agent.yaml.
  --timeout SEC   seconds to wait for the build (default 600)`;

/** The project as a .tar.gz, made with tar from an argv array. */
async function packProject(dir: string): Promise<Uint8Array<ArrayBuffer>> {
  const argv = ["tar", "-czf", "-", ...EXCLUDED.map((p) => `--exclude=${p}`), "-C", dir, "."];
  let proc;
  try {
    proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  } catch (err) {
    throw new CliError(EXIT.FAILED, "PACK_FAILED", `cannot run tar to pack ${dir}: ${(err as Error).message}`);
  }
  const [bytes, stderr, code] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new CliError(EXIT.FAILED, "PACK_FAILED", `tar could not pack ${dir}: ${stderr.trim()}`);
  return bytes;
}

/** Prints each phase the template passes through while the deploy request runs. */
function followPhases(conn: Connection, templateId: string, onPhase: (phase: string) => void): () => void {
  let stopped = false;
  let last = "";
  (async () => {
    while (!stopped) {
      try {
        const response = await call(conn, `/templates/${encodeURIComponent(templateId)}`, { timeoutMs: 5000 });
        const phase = ((await response.json()) as { status?: string }).status;
        if (!stopped && phase && phase !== last) onPhase((last = phase));
      } catch {
        // not recorded yet, or a blip: the deploy request itself reports real failures
      }
      await Bun.sleep(200);
    }
  })();
  return () => {
    stopped = true;
  };
}

/** The status the server recorded for the template, if it has one. */
async function recordedStatus(conn: Connection, templateId: string): Promise<AgentStatus | undefined> {
  try {
    const response = await call(conn, `/templates/${encodeURIComponent(templateId)}`, { timeoutMs: 5000 });
    return ((await response.json()) as AgentTemplate).metadata.agent.status;
  } catch {
    return undefined;
  }
}

/** Writes the server's status into agent.yaml, keeping everything else as the user has it now. */
async function recordStatus(project: Project, status: AgentStatus): Promise<void> {
  const raw = readRaw(project);
  await saveProject(project, validated({ ...raw, status }, project.file));
}

export async function deploy(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      dir: { type: "string" },
      "template-id": { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
      url: { type: "string" },
      "api-key": { type: "string" },
      prefix: { type: "string" },
    },
    strict: true,
  });
  const timeoutSec = v.timeout === undefined ? 600 : Number(v.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw usageError(`--timeout must be a positive number of seconds (got ${v.timeout})`);
  const project = findProject(v.dir);
  const config = loadProject(project);
  if (!existsSync(join(project.dir, config.spec.entrypoint))) {
    throw new CliError(EXIT.FAILED, "INVALID_AGENT_CONFIG", `${project.file}: spec.entrypoint: ${config.spec.entrypoint} does not exist`);
  }
  const conn = resolveConnection({ url: v.url, apiKey: v["api-key"], prefix: v.prefix });
  const templateId = v["template-id"] ?? config.metadata.name;
  const say = (text: string) => {
    if (!v.json) process.stdout.write(`${text}\n`);
  };

  const archive = await packProject(project.dir);
  say(`deploying ${project.dir} to ${conn.url} as ${templateId} (${(archive.byteLength / 1024).toFixed(1)} KiB)`);
  const seen = new Set<string>();
  const phase = (name: string, extra = "") => {
    if (!seen.has(name)) say(`  ${name}${extra}`);
    seen.add(name);
  };
  const startedAt = new Date().toISOString();
  const stop = followPhases(conn, templateId, (name) => phase(name));
  let result: DeployResult;
  try {
    const query = v["template-id"] ? `?template_id=${encodeURIComponent(v["template-id"])}` : "";
    const response = await call(conn, `/agents/deploy/archive${query}`, {
      method: "POST",
      upload: { bytes: archive, type: "application/gzip" },
      timeoutMs: timeoutSec * 1000,
    });
    result = (await response.json()) as DeployResult;
  } catch (err) {
    stop();
    // A build that started and failed is recorded on the server: bring its status home too.
    if (err instanceof CliError && err.exit !== EXIT.AUTH && err.code !== "UNREACHABLE") {
      const status = await recordedStatus(conn, templateId);
      if (status?.phase === "failed" && (status.last_deployed ?? "") >= startedAt) {
        await recordStatus(project, status);
        err.details.status = status;
      }
    }
    throw err;
  }
  stop();
  await recordStatus(project, result.status);
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ file: project.file, template_id: templateId, status: result.status, template: result.template })}\n`);
  } else {
    const t = result.template;
    const extra = t ? ` (version ${t.metadata.agent.metadata.version}${t.build_time !== undefined ? `, built in ${t.build_time.toFixed(1)}s` : ""})` : "";
    phase(result.status.phase ?? "deployed", extra);
    say(`${project.file}: status.phase=${result.status.phase} template_id=${result.status.template_id ?? templateId}`);
    say(`next: bunker agent invoke --input "hello"${result.status.template_id && result.status.template_id !== templateId ? ` --template-id ${result.status.template_id}` : ""}`);
  }
  return result.status.phase === "deployed" ? EXIT.OK : EXIT.FAILED;
}
