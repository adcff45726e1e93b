// The rules of env-fabric: lifecycle, dependency changes, sync and runs, each locked per env and audited first.
import { BunkerError, conflict, notFound, type IsolationService, type Logger } from "bunker/core";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireFileLock } from "./drivers/flock";
import {
  basePythonPrefix, declaredDependencies, diskUsage, envDir, envKey, installedDistributions, leftoverDirs, listEnvDirs, lockedVersions,
  lockPath, pyprojectText, readMeta, writeMeta, type EnvMeta,
} from "./drivers/envfs";
import { runDirect, runIsolated, type RunOutcome } from "./drivers/runner";
import { indexFlags, packageArgs, runUv, type ProgressFn, type UvSettings } from "./drivers/uv";
import type { AuditStore, Operation } from "./store";
import { checkIds, checkPackageNames, checkPythonVersion, checkRequirements, invalidPackages, type EnvIds, type PackagePolicy } from "./validate";

export interface EnvServiceOptions {
  basePath: string;
  scratchRoot: string;
  defaultPython: string;
  policy: PackagePolicy;
  executionTimeoutSeconds: number;
  runNetwork: boolean;
  runMemoryMb?: number;
  maxOutputBytes: number;
  cleanupIdleHours: number;
  uv: () => Promise<UvSettings>;
  isolation: () => IsolationService | undefined;
  audit: AuditStore;
  log: Logger;
}

/** Who asks, how long they will wait for a busy env, and where progress lines go. */
export interface Caller {
  actor: string;
  waitMs?: number;
  onProgress?: ProgressFn;
}

const normalizeName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");
const requirementName = (req: string) => normalizeName(/^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(req)?.[0] ?? req);
const errorCode = (err: unknown) => (err instanceof BunkerError ? err.code : "INTERNAL_ERROR");

export class EnvService {
  constructor(private readonly o: EnvServiceOptions) {}

  private dir(ids: EnvIds) {
    return envDir(this.o.basePath, ids);
  }

  private requireEnv(ids: EnvIds): EnvMeta {
    const meta = readMeta(this.dir(ids));
    if (!meta) throw notFound(`env ${envKey(ids)} does not exist`, { ...ids }, "ENV_NOT_FOUND");
    return meta;
  }

  /** Lock, audit, act: the audit row exists before the side effect, and the outcome is written after it. */
  private async guarded<T>(ids: EnvIds, operation: Operation, args: Record<string, unknown>, caller: Caller, fn: () => Promise<T>, shared = false): Promise<T> {
    const lock = await acquireFileLock(lockPath(this.o.basePath, ids), { shared, waitMs: caller.waitMs });
    if (!lock) {
      throw new BunkerError(423, "ENV_LOCKED", `env ${envKey(ids)} is being changed by another operation; retry, or ask to wait with ?wait=<seconds>`, { ...ids });
    }
    try {
      const { id, startedAt } = await this.o.audit.begin(envKey(ids), operation, args, caller.actor);
      let failure: string | null = null;
      try {
        return await fn();
      } catch (err) {
        failure = errorCode(err);
        throw err;
      } finally {
        await this.o.audit.finish(id, startedAt, failure).catch((err) =>
          this.o.log.error("could not complete the audit row", { id, operation, error: err }),
        );
      }
    } finally {
      lock.release();
    }
  }

  private async venv(settings: UvSettings, dir: string, python: string, caller: Caller) {
    await runUv(settings, ["venv", "--no-config", "--relocatable", "--python", python, ".venv"], dir, caller.onProgress);
  }

  async create(ids: EnvIds, input: { python_version?: string; packages: string[] }, caller: Caller) {
    checkIds(ids);
    const python = checkPythonVersion(input.python_version ?? this.o.defaultPython);
    const packages = checkRequirements(input.packages, this.o.policy);
    const exists = () => existsSync(this.dir(ids));
    const alreadyExists = () => conflict(`env ${envKey(ids)} already exists`, { ...ids }, "ENV_ALREADY_EXISTS");
    if (exists()) throw alreadyExists();
    return this.guarded(ids, "create", { python_version: python, packages }, caller, async () => {
      if (exists()) throw alreadyExists();
      const final = this.dir(ids);
      const nodeDir = join(final, "..");
      mkdirSync(nodeDir, { recursive: true });
      // Built beside its final place (same filesystem) and renamed in: a failure leaves nothing behind.
      const tmp = mkdtempSync(join(nodeDir, `.${ids.version_id}.tmp-`));
      try {
        chmodSync(tmp, 0o755); // sandboxed runs use an unprivileged uid that must read the env
        const settings = await this.o.uv();
        writeFileSync(join(tmp, "pyproject.toml"), pyprojectText(ids, python));
        await this.venv(settings, tmp, python, caller);
        const flags = ["--no-config", ...indexFlags(settings)];
        if (packages.length) await runUv(settings, ["add", ...flags, ...packageArgs(packages)], tmp, caller.onProgress);
        else await runUv(settings, ["sync", ...flags], tmp, caller.onProgress);
        const now = new Date().toISOString();
        writeMeta(tmp, { ...ids, python_version: python, created_at: now, created_by: caller.actor, last_used_at: now });
        renameSync(tmp, final);
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      return {
        ...ids,
        env_path: final,
        python_version: python,
        status: "created" as const,
        pyproject_toml: readFileSync(join(final, "pyproject.toml"), "utf8"),
      };
    });
  }

  async deleteEnv(ids: EnvIds, caller: Caller) {
    checkIds(ids);
    this.requireEnv(ids);
    return this.guarded(ids, "delete", {}, caller, async () => {
      this.requireEnv(ids);
      const dir = this.dir(ids);
      const doomed = join(dir, "..", `.${ids.version_id}.deleting-${crypto.randomUUID()}`);
      renameSync(dir, doomed);
      rmSync(doomed, { recursive: true, force: true });
      return { ...ids, status: "deleted" as const };
    });
  }

  /** uv add / uv remove, with pyproject.toml and uv.lock put back as they were when uv fails. */
  private async changeDeps(ids: EnvIds, operation: "add" | "remove", packages: string[], caller: Caller) {
    this.requireEnv(ids);
    return this.guarded(ids, operation, { packages }, caller, async () => {
      this.requireEnv(ids);
      const dir = this.dir(ids);
      const files = ["pyproject.toml", "uv.lock"].map((name) => ({ path: join(dir, name), text: readOptional(join(dir, name)) }));
      if (operation === "remove") {
        const declared = new Set(declaredDependencies(files[0]!.text ?? "").map(requirementName));
        const missing = packages.filter((p) => !declared.has(normalizeName(p)));
        if (missing.length) throw invalidPackages("these packages are not declared dependencies of the env", missing);
      }
      const settings = await this.o.uv();
      try {
        await runUv(settings, [operation, "--no-config", ...indexFlags(settings), ...packageArgs(packages)], dir, caller.onProgress);
      } catch (err) {
        for (const f of files) {
          if (f.text === null) rmSync(f.path, { force: true });
          else writeFileSync(f.path, f.text);
        }
        // uv stops before installing when it cannot resolve; otherwise bring .venv back to the restored lock.
        if (errorCode(err) !== "PACKAGE_RESOLUTION_FAILED") {
          await runUv(settings, ["sync", "--no-config", "--frozen", ...indexFlags(settings)], dir).catch(() => undefined);
        }
        throw err;
      }
      this.touch(dir);
      return { ...ids, status: operation === "add" ? ("added" as const) : ("removed" as const), packages, ...this.depsOf(dir) };
    });
  }

  addDeps(ids: EnvIds, packages: string[], caller: Caller) {
    checkIds(ids);
    return this.changeDeps(ids, "add", checkRequirements(packages, this.o.policy), caller);
  }

  removeDeps(ids: EnvIds, packages: string[], caller: Caller) {
    checkIds(ids);
    return this.changeDeps(ids, "remove", checkPackageNames(packages), caller);
  }

  private depsOf(dir: string) {
    const lock = readOptional(join(dir, "uv.lock"));
    return {
      dependencies: declaredDependencies(readFileSync(join(dir, "pyproject.toml"), "utf8")),
      locked_versions: lock ? lockedVersions(lock) : {},
    };
  }

  deps(ids: EnvIds) {
    checkIds(ids);
    this.requireEnv(ids);
    return { ...ids, ...this.depsOf(this.dir(ids)) };
  }

  exportFiles(ids: EnvIds) {
    checkIds(ids);
    this.requireEnv(ids);
    const dir = this.dir(ids);
    return {
      ...ids,
      pyproject_toml: readFileSync(join(dir, "pyproject.toml"), "utf8"),
      uv_lock: readOptional(join(dir, "uv.lock")) ?? "",
    };
  }

  async sync(ids: EnvIds, caller: Caller) {
    checkIds(ids);
    this.requireEnv(ids);
    return this.guarded(ids, "sync", {}, caller, async () => {
      const meta = this.requireEnv(ids);
      const dir = this.dir(ids);
      const settings = await this.o.uv();
      if (!existsSync(join(dir, ".venv", "pyvenv.cfg"))) {
        rmSync(join(dir, ".venv"), { recursive: true, force: true });
        await this.venv(settings, dir, meta.python_version, caller);
      }
      // --frozen: install exactly what uv.lock says (sync is exact by default: extraneous packages go).
      await runUv(settings, ["sync", "--no-config", "--frozen", ...indexFlags(settings)], dir, caller.onProgress);
      this.touch(dir);
      return { ...ids, status: "synced" as const, packages_installed: installedDistributions(dir).length };
    });
  }

  async run(ids: EnvIds, input: { code: string; timeout?: number }, caller: Caller) {
    checkIds(ids);
    this.requireEnv(ids);
    const timeoutSeconds = input.timeout ?? this.o.executionTimeoutSeconds;
    const args = { timeout: timeoutSeconds, code_bytes: Buffer.byteLength(input.code), code: input.code.slice(0, 4000) };
    // Shared lock: runs go side by side, but no mutation swaps the env out from under one.
    return this.guarded(ids, "run", args, caller, async () => {
      this.requireEnv(ids);
      const dir = this.dir(ids);
      const python = join(dir, ".venv", "bin", "python");
      if (!existsSync(python)) throw conflict(`env ${envKey(ids)} has no .venv: sync it first`, { ...ids }, "ENV_NOT_SYNCED");
      mkdirSync(this.o.scratchRoot, { recursive: true });
      const scratch = mkdtempSync(join(this.o.scratchRoot, "run-"));
      let outcome: RunOutcome;
      try {
        const base = basePythonPrefix(dir);
        const spec = {
          python, code: input.code, scratch, readOnly: base ? [dir, base] : [dir], timeoutMs: timeoutSeconds * 1000,
          network: this.o.runNetwork, memoryMb: this.o.runMemoryMb, maxOutputBytes: this.o.maxOutputBytes,
        };
        const isolation = this.o.isolation();
        outcome = isolation ? await runIsolated(isolation, spec) : await runDirect(spec);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      this.touch(dir);
      if (outcome.timedOut) {
        throw new BunkerError(504, "EXECUTION_TIMEOUT", `the code ran past its ${timeoutSeconds} s timeout and was killed`, {
          timeout: timeoutSeconds, stdout: outcome.stdout.slice(-4000), stderr: outcome.stderr.slice(-4000), duration_ms: outcome.durationMs,
        });
      }
      return {
        ...ids, stdout: outcome.stdout, stderr: outcome.stderr, exit_code: outcome.exitCode,
        duration_ms: outcome.durationMs, timed_out: false, isolated: outcome.isolated,
      };
    }, true);
  }

  private touch(dir: string) {
    const meta = readMeta(dir);
    if (meta) writeMeta(dir, { ...meta, last_used_at: new Date().toISOString() });
  }

  private summary(dir: string, meta: EnvMeta) {
    return {
      workflow_id: meta.workflow_id, node_id: meta.node_id, version_id: meta.version_id, env_path: dir,
      python_version: meta.python_version, created_at: meta.created_at, created_by: meta.created_by,
      last_used_at: meta.last_used_at, size_bytes: diskUsage(dir),
    };
  }

  list(workflowId?: string) {
    if (workflowId !== undefined) checkIds({ workflow_id: workflowId, node_id: "x", version_id: "x" });
    return listEnvDirs(this.o.basePath, workflowId).map(({ dir, meta }) => this.summary(dir, meta));
  }

  async state(ids: EnvIds) {
    checkIds(ids);
    const meta = this.requireEnv(ids);
    const dir = this.dir(ids);
    const probe = await acquireFileLock(lockPath(this.o.basePath, ids), { shared: true });
    probe?.release();
    const installed = installedDistributions(dir);
    return {
      ...this.summary(dir, meta), ...this.depsOf(dir), venv_present: existsSync(join(dir, ".venv", "pyvenv.cfg")),
      packages_installed: installed.length, busy: probe === null,
    };
  }

  /** Removes envs unused for idleHours; busy ones are skipped and left for the next pass. */
  async cleanup(input: { idle_hours?: number; dry_run?: boolean }, caller: Caller) {
    const idleHours = input.idle_hours ?? this.o.cleanupIdleHours;
    const cutoff = Date.now() - idleHours * 3_600_000;
    const idle = listEnvDirs(this.o.basePath).filter(({ meta }) => Date.parse(meta.last_used_at) < cutoff);
    const removed: string[] = [];
    const skipped: Array<{ env: string; reason: string }> = [];
    for (const { meta } of idle) {
      const ids = { workflow_id: meta.workflow_id, node_id: meta.node_id, version_id: meta.version_id };
      if (input.dry_run) {
        removed.push(envKey(ids));
        continue;
      }
      try {
        await this.guarded(ids, "cleanup", { idle_hours: idleHours, last_used_at: meta.last_used_at }, { actor: caller.actor }, async () => {
          const current = this.requireEnv(ids);
          if (Date.parse(current.last_used_at) >= cutoff) throw conflict("used again since the scan", undefined, "ENV_IN_USE");
          const doomed = join(this.dir(ids), "..", `.${ids.version_id}.deleting-${crypto.randomUUID()}`);
          renameSync(this.dir(ids), doomed);
          rmSync(doomed, { recursive: true, force: true });
        });
        removed.push(envKey(ids));
      } catch (err) {
        if (errorCode(err) === "DB_AUDIT_ERROR") throw err;
        skipped.push({ env: envKey(ids), reason: (err as Error).message });
      }
    }
    // A create or delete in progress touches its temp dir within seconds; an hour-old one is a crash's leftover.
    const leftovers = input.dry_run ? [] : leftoverDirs(this.o.basePath, 3_600_000);
    for (const path of leftovers) rmSync(path, { recursive: true, force: true });
    return {
      status: input.dry_run ? ("dry_run" as const) : ("cleaned" as const), idle_hours: idleHours, removed, skipped,
      leftovers_removed: leftovers.length,
    };
  }
}

function readOptional(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
