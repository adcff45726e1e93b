// An agent project's npm dependencies, installed at deploy time (the "building" phase) and shipped with its template
// as one archive that the sandbox unpacks into /workspace/node_modules before the agent starts. The template stays
// self-contained: no host path is shared with the sandbox, and a session never touches a registry.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, posix } from "node:path";
import { SANDBOX_BUN, SANDBOX_PATH, type IsolationService } from "bunker/core";
import { errors } from "./errors";
import type { ProjectFile } from "./project-files";

export interface DependencyBuild {
  /** node_modules as a gzipped tar. */
  archive: Uint8Array;
  /** The top-level packages installed, `name@spec`. */
  packages: string[];
}

export interface DependencyBuildOptions {
  /** Scratch space for the install (removed afterwards). */
  workDir: string;
  maxBytes: number;
  timeoutMs: number;
  /** Runs the install in a sandbox when present: only the staged copy of the project is visible to it. */
  isolation?: IsolationService;
  /** Registry settings passed on to `bun install` (NPM_CONFIG_REGISTRY and the like). */
  env: Record<string, string>;
}

/** Provided by the host inside every agent sandbox, so never installed. */
const PROVIDED = (name: string) => name === "bunker" || name.startsWith("@bunker/");
const LOCAL_SPEC = /^(file:|link:|\.{0,2}\/)/;

/** What the install needs from package.json (read once). */
export interface ProjectManifest {
  name?: string;
  /** "module" or "commonjs", as the project declares it. */
  type?: string;
  /** The dependencies to install: name → spec. */
  dependencies: Record<string, string>;
}

/** package.json's name, type and the dependencies to install: its `dependencies` minus what the host provides. Local
 * specs must stay inside the project (an uploaded project must not pull server files into its sandbox); workspaces
 * are refused. The project is already read (no symlinks, everything inside it), so "inside" is a matter of names.
 * Messages name the dependency, never the file's text or a parser's quote of it. */
export function projectDependencies(files: ProjectFile[]): ProjectManifest {
  const manifest = files.find((f) => f.path === "package.json");
  if (!manifest) return { dependencies: {} };
  let pkg: { name?: unknown; type?: unknown; dependencies?: Record<string, unknown> };
  try {
    pkg = JSON.parse(new TextDecoder().decode(manifest.bytes));
  } catch {
    throw errors.INVALID_PACKAGE_JSON("package.json: not valid JSON");
  }
  const wanted: Record<string, string> = {};
  for (const [name, spec] of Object.entries(pkg?.dependencies ?? {})) {
    if (PROVIDED(name)) continue;
    if (typeof spec !== "string") throw errors.INVALID_DEPENDENCY(`package.json: dependencies.${name} must be a string`, { name });
    if (spec.startsWith("workspace:")) {
      throw errors.INVALID_DEPENDENCY(`package.json: dependencies.${name}: workspace dependencies cannot be installed in an agent sandbox`, { name });
    }
    if (LOCAL_SPEC.test(spec)) {
      const target = posix.normalize(spec.replace(/^(file:|link:)/, ""));
      if (target.startsWith("/") || target === ".." || target.startsWith("../")) {
        throw errors.INVALID_DEPENDENCY(`package.json: dependencies.${name}: a local path that points outside the project`, { name });
      }
    }
    wanted[name] = spec;
  }
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return { name: text(pkg?.name), type: text(pkg?.type), dependencies: wanted };
}

/** Writes the project's files into dir (names are relative and checked: no "..", no symlinks). */
function stageFiles(files: ProjectFile[], dir: string): void {
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.bytes);
  }
}

/** Installs the project's production dependencies (no lifecycle scripts) into a staged copy; null when it has none. */
export async function buildDependencies(files: ProjectFile[], o: DependencyBuildOptions): Promise<DependencyBuild | null> {
  const { name, type, dependencies } = projectDependencies(files);
  if (Object.keys(dependencies).length === 0) return null;
  const stage = mkdtempSync(join(o.workDir, "deps-"));
  try {
    stageFiles(files, stage);
    // The server user's registry settings (mirror, CA, tokens) unless the project brings its own .npmrc: HOME is the
    // stage below, and the install never sees the server's home.
    const userNpmrc = join(homedir(), ".npmrc");
    if (!existsSync(join(stage, ".npmrc")) && existsSync(userNpmrc)) cpSync(userNpmrc, join(stage, ".npmrc"));
    // Only what will be installed: no scripts, no dev dependencies, and not the host-provided `bunker`.
    writeFileSync(join(stage, "package.json"), JSON.stringify({ name: name ?? "agent", private: true, type, dependencies }));
    // In a sandbox, the server's Bun as the isolation service binds it (its host path is masked there).
    const argv = [o.isolation ? SANDBOX_BUN : process.execPath, "install", "--production", "--ignore-scripts", "--no-save", "--no-progress"];
    const env = { ...o.env, HOME: stage, BUN_INSTALL_CACHE_DIR: join(stage, ".bun-cache"), PATH: o.isolation ? SANDBOX_PATH : "/usr/local/bin:/usr/bin:/bin" };
    const outcome = o.isolation
      ? await o.isolation.run({
          argv, cwd: stage, env, network: true, timeoutMs: o.timeoutMs, limits: { memoryMb: 2048 },
          mounts: [{ host: stage, sandbox: stage, writable: true }],
        })
      : await runDirect(argv, stage, env, o.timeoutMs);
    if (outcome.timedOut) throw errors.DEPENDENCY_INSTALL_TIMEOUT(`bun install took longer than ${o.timeoutMs / 1000} s`);
    if (outcome.exitCode !== 0) {
      const tail = `${outcome.stdout}\n${outcome.stderr}`.trim().split("\n").slice(-15).join("\n");
      throw errors.DEPENDENCY_INSTALL_FAILED(`bun install failed (exit ${outcome.exitCode}): ${tail}`, { dependencies });
    }
    const tar = Bun.spawn(["tar", "-cz", "-f", "-", "-C", join(stage, "node_modules"), "."], { stdout: "pipe", stderr: "pipe" });
    const [archive, stderr, code] = await Promise.all([new Response(tar.stdout).bytes(), new Response(tar.stderr).text(), tar.exited]);
    if (code !== 0) throw new Error(`packing node_modules failed: ${stderr.trim()}`);
    if (archive.byteLength > o.maxBytes) {
      throw errors.DEPENDENCIES_TOO_LARGE(`the installed dependencies pack to ${archive.byteLength} bytes; the limit is ${o.maxBytes} (agent-runtime config maxDependenciesMb)`, { bytes: archive.byteLength, limit: o.maxBytes });
    }
    return { archive, packages: Object.entries(dependencies).map(([name, spec]) => `${name}@${spec}`) };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function runDirect(argv: string[], cwd: string, env: Record<string, string>, timeoutMs: number) {
  const proc = Bun.spawn(argv, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode, timedOut: proc.signalCode === "SIGKILL" };
}

/** The agent's command, preceded by unpacking its dependencies into /workspace/node_modules (next to the `bunker`
 * shim the template places there). */
export function withDependencies(command: string[], archivePath: string): string[] {
  return ["/bin/sh", "-c", `mkdir -p node_modules && tar -xzf "$0" -C node_modules && rm -f "$0" && exec "$@"`, archivePath, ...command];
}
