// The rules of env-fabric: lifecycle, dependency changes, sync and runs, each locked per env and audited first.
import { BunkerError, canAccess, ownerScope, type IsolationService, type Logger, type Principal } from "bunker/core";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireFileLock } from "./drivers/flock";
import {
  basePythonPrefix, declaredDependencies, diskUsage, envDir, envKey, installedDistributions, leftoverDirs, listEnvDirs, lockedVersions,
  lockPath, pyprojectText, readMeta, writeMeta, type EnvMeta, type EnvRef,
} from "./drivers/envfs";
import { errors } from "./errors";
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
/** The code an operation failed with (the audit row's error_code). */
const errorCode = (err: unknown): string => (err instanceof BunkerError ? err.code : "INTERNAL_ERROR");
/** The env's ids as responses and error details show them (the owner is implied by who asks). */
const idsOf = (ref: EnvIds): EnvIds & Record<string, unknown> => ({ workflow_id: ref.workflow_id, node_id: ref.node_id, version_id: ref.version_id });
/** The one answer for an env that is missing or not the caller's: nothing in it tells the two apart. */
const envNotFound = (ids: EnvIds) => errors.ENV_NOT_FOUND(`env ${envKey(ids)} does not exist`, idsOf(ids));

export class EnvService {
  constructor(private readonly o: EnvServiceOptions) {}

  /**
   * The env a request names: the caller's own, or (`owner` given) that user's when the caller may access it (its
   * owner, or an admin). Anyone else gets the answer a missing env gets.
   */
  envOf(principal: Principal, ids: EnvIds, owner?: string): EnvRef {
    checkIds(ids);
    const ref = { owner: owner ?? principal.userId, ...idsOf(ids) };
    if (!canAccess(principal, ref.owner)) throw envNotFound(ids);
    return ref;
  }

  private dir(ref: EnvRef) {
    return envDir(this.o.basePath, ref);
  }

  private requireEnv(ref: EnvRef): EnvMeta {
    const meta = readMeta(this.dir(ref));
    if (!meta) throw envNotFound(ref);
    return meta;
  }

  /** Lock, audit, act: the audit row exists before the side effect, and the outcome is written after it. */
  private async guarded<T>(ref: EnvRef, operation: Operation, args: Record<string, unknown>, caller: Caller, fn: () => Promise<T>, shared = false): Promise<T> {
    const lock = await acquireFileLock(lockPath(this.o.basePath, ref), {
      shared,
      waitMs: caller.waitMs,
      onWait: () => caller.onProgress?.(`waiting up to ${Math.round((caller.waitMs ?? 0) / 1000)} s for another operation on env ${envKey(ref)} to finish`),
    });
    if (!lock) {
      throw errors.ENV_LOCKED(`env ${envKey(ref)} is being changed by another operation; retry, or ask to wait with ?wait=<seconds>`, idsOf(ref));
    }
    try {
      const { id, startedAt } = await this.o.audit.begin(ref.owner, envKey(ref), operation, args, caller.actor);
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

  async create(ref: EnvRef, input: { python_version?: string; packages: string[] }, caller: Caller) {
    const python = checkPythonVersion(input.python_version ?? this.o.defaultPython);
    const packages = checkRequirements(input.packages, this.o.policy);
    const exists = () => existsSync(this.dir(ref));
    const alreadyExists = () => errors.ENV_ALREADY_EXISTS(`env ${envKey(ref)} already exists`, idsOf(ref));
    if (exists()) throw alreadyExists();
    return this.guarded(ref, "create", { python_version: python, packages }, caller, async () => {
      if (exists()) throw alreadyExists();
      const final = this.dir(ref);
      const nodeDir = join(final, "..");
      mkdirSync(nodeDir, { recursive: true });
      // Built beside its final place (same filesystem) and renamed in: a failure leaves nothing behind.
      const tmp = mkdtempSync(join(nodeDir, `.${ref.version_id}.tmp-`));
      try {
        chmodSync(tmp, 0o755); // sandboxed runs use an unprivileged uid that must read the env
        const settings = await this.o.uv();
        writeFileSync(join(tmp, "pyproject.toml"), pyprojectText(ref, python));
        await this.venv(settings, tmp, python, caller);
        const flags = ["--no-config", ...indexFlags(settings)];
        if (packages.length) await runUv(settings, ["add", ...flags, ...packageArgs(packages)], tmp, caller.onProgress);
        else await runUv(settings, ["sync", ...flags], tmp, caller.onProgress);
        const now = new Date().toISOString();
        writeMeta(tmp, { ...ref, python_version: python, created_at: now, created_by: caller.actor, last_used_at: now });
        renameSync(tmp, final);
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      return {
        ...idsOf(ref),
        env_path: final,
        python_version: python,
        status: "created" as const,
        pyproject_toml: readFileSync(join(final, "pyproject.toml"), "utf8"),
      };
    });
  }

  async deleteEnv(ref: EnvRef, caller: Caller) {
    this.requireEnv(ref);
    return this.guarded(ref, "delete", {}, caller, async () => {
      this.requireEnv(ref);
      this.removeDir(ref);
      return { ...idsOf(ref), status: "deleted" as const };
    });
  }

  /** Renamed aside first, so a crash mid-removal leaves a `.deleting-` leftover for cleanup, never half an env. */
  private removeDir(ref: EnvRef) {
    const doomed = join(this.dir(ref), "..", `.${ref.version_id}.deleting-${crypto.randomUUID()}`);
    renameSync(this.dir(ref), doomed);
    rmSync(doomed, { recursive: true, force: true });
  }

  /** uv add / uv remove, with pyproject.toml and uv.lock put back as they were when uv fails. */
  private async changeDeps(ref: EnvRef, operation: "add" | "remove", packages: string[], caller: Caller) {
    this.requireEnv(ref);
    return this.guarded(ref, operation, { packages }, caller, async () => {
      this.requireEnv(ref);
      const dir = this.dir(ref);
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
      return { ...idsOf(ref), status: operation === "add" ? ("added" as const) : ("removed" as const), packages, ...this.depsOf(dir) };
    });
  }

  addDeps(ref: EnvRef, packages: string[], caller: Caller) {
    return this.changeDeps(ref, "add", checkRequirements(packages, this.o.policy), caller);
  }

  removeDeps(ref: EnvRef, packages: string[], caller: Caller) {
    return this.changeDeps(ref, "remove", checkPackageNames(packages), caller);
  }

  private depsOf(dir: string) {
    const lock = readOptional(join(dir, "uv.lock"));
    return {
      dependencies: declaredDependencies(readFileSync(join(dir, "pyproject.toml"), "utf8")),
      locked_versions: lock ? lockedVersions(lock) : {},
    };
  }

  deps(ref: EnvRef) {
    this.requireEnv(ref);
    return { ...idsOf(ref), ...this.depsOf(this.dir(ref)) };
  }

  exportFiles(ref: EnvRef) {
    this.requireEnv(ref);
    const dir = this.dir(ref);
    return {
      ...idsOf(ref),
      pyproject_toml: readFileSync(join(dir, "pyproject.toml"), "utf8"),
      uv_lock: readOptional(join(dir, "uv.lock")) ?? "",
    };
  }

  async sync(ref: EnvRef, caller: Caller) {
    this.requireEnv(ref);
    return this.guarded(ref, "sync", {}, caller, async () => {
      const meta = this.requireEnv(ref);
      const dir = this.dir(ref);
      const settings = await this.o.uv();
      if (!existsSync(join(dir, ".venv", "pyvenv.cfg"))) {
        rmSync(join(dir, ".venv"), { recursive: true, force: true });
        await this.venv(settings, dir, meta.python_version, caller);
      }
      // --frozen: install exactly what uv.lock says (sync is exact by default: extraneous packages go).
      await runUv(settings, ["sync", "--no-config", "--frozen", ...indexFlags(settings)], dir, caller.onProgress);
      this.touch(dir);
      return { ...idsOf(ref), status: "synced" as const, packages_installed: installedDistributions(dir).length };
    });
  }

  async run(ref: EnvRef, input: { code: string; timeout?: number }, caller: Caller) {
    this.requireEnv(ref);
    const timeoutSeconds = input.timeout ?? this.o.executionTimeoutSeconds;
    const args = { timeout: timeoutSeconds, code_bytes: Buffer.byteLength(input.code), code: input.code.slice(0, 4000) };
    // Shared lock: runs go side by side, but no mutation swaps the env out from under one.
    return this.guarded(ref, "run", args, caller, async () => {
      this.requireEnv(ref);
      const dir = this.dir(ref);
      const python = join(dir, ".venv", "bin", "python");
      if (!existsSync(python)) throw errors.ENV_NOT_SYNCED(`env ${envKey(ref)} has no .venv: sync it first`, idsOf(ref));
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
        throw errors.EXECUTION_TIMEOUT(`the code ran past its ${timeoutSeconds} s timeout and was killed`, {
          timeout: timeoutSeconds, stdout: outcome.stdout.slice(-4000), stderr: outcome.stderr.slice(-4000), duration_ms: outcome.durationMs,
        });
      }
      return {
        ...idsOf(ref), stdout: outcome.stdout, stderr: outcome.stderr, exit_code: outcome.exitCode,
        duration_ms: outcome.durationMs, timed_out: false, isolated: outcome.isolated,
      };
    }, true);
  }

  private touch(dir: string) {
    const meta = readMeta(dir);
    if (meta) writeMeta(dir, { ...meta, last_used_at: new Date().toISOString() });
  }

  /** Whose and which env come from its path (`ref`), the rest from its metadata. */
  private summary(ref: EnvRef, dir: string, meta: EnvMeta) {
    return {
      owner: ref.owner, ...idsOf(ref), env_path: dir,
      python_version: meta.python_version, created_at: meta.created_at, created_by: meta.created_by,
      last_used_at: meta.last_used_at, size_bytes: diskUsage(dir),
    };
  }

  /** The caller's envs (an admin: everyone's, or one owner's with `owner`). Others' envs are never listed. */
  list(principal: Principal, filter: { workflowId?: string; owner?: string } = {}) {
    const { workflowId } = filter;
    if (workflowId !== undefined) checkIds({ workflow_id: workflowId, node_id: "x", version_id: "x" });
    const scope = ownerScope(principal, filter.owner);
    if (!scope) return [];
    return listEnvDirs(this.o.basePath, { owner: scope.owner, workflowId }).map(({ ref, dir, meta }) => this.summary(ref, dir, meta));
  }

  async state(ref: EnvRef) {
    const meta = this.requireEnv(ref);
    const dir = this.dir(ref);
    const probe = await acquireFileLock(lockPath(this.o.basePath, ref), { shared: true });
    probe?.release();
    const installed = installedDistributions(dir);
    return {
      ...this.summary(ref, dir, meta), ...this.depsOf(dir), venv_present: existsSync(join(dir, ".venv", "pyvenv.cfg")),
      packages_installed: installed.length, busy: probe === null,
    };
  }

  /**
   * Removes envs unused for idleHours; busy ones are skipped and left for the next pass. `owner` limits the pass to
   * one user's envs (a user's own request); without it every owner's envs are looked at (admins, the background task).
   * Envs of owners other than the caller are named `owner:workflow/node/version` in the result.
   */
  async cleanup(input: { idle_hours?: number; dry_run?: boolean }, caller: Caller, owner?: string) {
    const idleHours = input.idle_hours ?? this.o.cleanupIdleHours;
    const cutoff = Date.now() - idleHours * 3_600_000;
    const idle = listEnvDirs(this.o.basePath, { owner }).filter(({ meta }) => Date.parse(meta.last_used_at) < cutoff);
    const removed: string[] = [];
    const skipped: Array<{ env: string; reason: string }> = [];
    // Each env is addressed by the path it was found at: its metadata's owner and ids are not trusted to name it.
    for (const { ref, meta } of idle) {
      const label = ref.owner === caller.actor ? envKey(ref) : `${ref.owner}:${envKey(ref)}`;
      if (input.dry_run) {
        removed.push(label);
        continue;
      }
      try {
        await this.guarded(ref, "cleanup", { idle_hours: idleHours, last_used_at: meta.last_used_at }, { actor: caller.actor }, async () => {
          const current = this.requireEnv(ref);
          if (Date.parse(current.last_used_at) >= cutoff) throw errors.ENV_IN_USE("used again since the scan");
          this.removeDir(ref);
        });
        removed.push(label);
      } catch (err) {
        if (errorCode(err) === "DB_AUDIT_ERROR") throw err;
        skipped.push({ env: label, reason: (err as Error).message });
      }
    }
    // A create or delete in progress touches its temp dir within seconds; an hour-old one is a crash's leftover.
    const leftovers = input.dry_run ? [] : leftoverDirs(this.o.basePath, 3_600_000, owner);
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
