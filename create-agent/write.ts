// Writes a project all at once: files go to a staging folder beside the target, which is then renamed into place.
// On any error nothing is left behind: the staging folder is removed, and with --force replaced files are restored.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CreateAgentError } from "./errors";
import type { RenderedFile } from "./render";

export type TargetState = "missing" | "empty" | "non-empty";

/** What is at the target path now; a file there is refused. */
export function targetState(target: string): TargetState {
  if (!existsSync(target)) return "missing";
  if (!statSync(target).isDirectory()) {
    throw new CreateAgentError("NOT_A_DIRECTORY", `${target} exists and is not a directory`, { dir: target });
  }
  return readdirSync(target).length === 0 ? "empty" : "non-empty";
}

function writeFailed(target: string, err: unknown): CreateAgentError {
  const e = err as NodeJS.ErrnoException;
  return new CreateAgentError("WRITE_FAILED", `could not write ${target}: ${e.message}; nothing was left behind`, {
    dir: target,
    cause: e.code ?? e.message,
  });
}

function writeAll(root: string, files: RenderedFile[]): void {
  for (const file of files) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
    chmodSync(path, file.mode);
  }
}

/** Moves staged files into an existing directory one by one, undoing every step if one fails. */
function mergeInto(staging: string, target: string, files: RenderedFile[]): void {
  const backup = join(staging, ".replaced");
  const undo: Array<() => void> = [];
  try {
    for (const file of files) {
      const from = join(staging, "files", file.path);
      const to = join(target, file.path);
      const parent = dirname(to);
      if (!existsSync(parent)) {
        const created = mkdirSync(parent, { recursive: true });
        if (created) undo.push(() => rmSync(created, { recursive: true, force: true }));
      }
      if (existsSync(to)) {
        const saved = join(backup, file.path);
        mkdirSync(dirname(saved), { recursive: true });
        renameSync(to, saved);
        undo.push(() => renameSync(saved, to));
      }
      renameSync(from, to);
      undo.push(() => renameSync(to, from));
    }
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // keep undoing the rest
      }
    }
    throw err;
  }
}

/**
 * Writes files into target. A missing or empty target appears complete in one rename; a non-empty one (with force)
 * gets each file moved in, replacing same-named files, and rolled back if any move fails.
 */
export function writeProject(target: string, files: RenderedFile[], force: boolean): void {
  const state = targetState(target);
  if (state === "non-empty" && !force) {
    throw new CreateAgentError("NOT_EMPTY", `${target} is not empty; use --force to write into it anyway`, { dir: target });
  }
  const parent = dirname(target);
  let createdParent: string | undefined;
  let staging: string | undefined;
  try {
    createdParent = mkdirSync(parent, { recursive: true }) ?? undefined;
    staging = mkdtempSync(join(parent, `.${basename(target)}.create-agent-`));
    const stagedFiles = join(staging, "files");
    writeAll(stagedFiles, files);
    if (state === "non-empty") mergeInto(staging, target, files);
    else renameSync(stagedFiles, target); // rename(2) replaces an empty directory atomically
  } catch (err) {
    if (staging) rmSync(staging, { recursive: true, force: true });
    if (createdParent) rmSync(createdParent, { recursive: true, force: true });
    throw err instanceof CreateAgentError ? err : writeFailed(target, err);
  }
  rmSync(staging, { recursive: true, force: true });
}
