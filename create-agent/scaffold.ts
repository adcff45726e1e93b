// Makes the project a Plan describes: render the template, write it atomically, then install and git init.
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Plan } from "./answers";
import { nowIso } from "./fields";
import { renderTemplate } from "./render";
import { bunInstall, gitInit, type StepResult } from "./steps";
import { writeProject } from "./write";

export interface ScaffoldOptions {
  install: boolean;
  git: boolean;
  /** The `bunker` dependency spec; default: bunkerDependency(). */
  bunker?: string;
  /** Capture bun install's output instead of showing it (for --json). */
  quiet: boolean;
}

export interface ScaffoldResult {
  dir: string;
  template: string;
  agent: Plan["fields"] & { created: string };
  files: string[];
  bunkerDependency: string;
  install: StepResult;
  git: StepResult;
  /** Commands to run next, starting with `cd`. */
  next: string[];
}

/** The Bunker checkout this scaffolder sits in (its package.json is named "bunker"), if any. */
export function bunkerCheckout(): string | undefined {
  const root = resolve(import.meta.dir, "..");
  try {
    return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).name === "bunker" ? root : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The dependency spec for Bunker's agent runtime: BUNKER_DEPENDENCY if set, else a `link:` to this checkout
 * (bun install symlinks it: edits to the checkout are seen at once), else the published version range.
 */
export function bunkerDependency(env: Record<string, string | undefined> = process.env): string {
  if (env.BUNKER_DEPENDENCY) return env.BUNKER_DEPENDENCY;
  const checkout = bunkerCheckout();
  return checkout ? `link:${checkout}` : "^0.1.0";
}

export async function scaffold(plan: Plan, options: ScaffoldOptions, cwd = process.cwd()): Promise<ScaffoldResult> {
  const created = nowIso();
  const dependency = options.bunker ?? bunkerDependency();
  const files = renderTemplate(plan.template, {
    ...plan.fields,
    created,
    template: plan.template.name,
    bunkerDependency: dependency,
  });
  writeProject(plan.target, files, plan.force);

  const hasPackageJson = existsSync(join(plan.target, "package.json"));
  const install: StepResult = !options.install
    ? { ran: false, ok: true, note: "skipped (--no-install)" }
    : !hasPackageJson
      ? { ran: false, ok: true, note: "nothing to install" }
      : await bunInstall(plan.target, options.quiet);
  const git: StepResult = options.git ? gitInit(plan.target) : { ran: false, ok: true, note: "skipped (--no-git)" };

  const where = relative(cwd, plan.target) || ".";
  const next = [
    ...(where === "." ? [] : [`cd ${/\s/.test(where) ? JSON.stringify(where) : where}`]),
    ...(hasPackageJson && !(install.ran && install.ok) ? ["bun install"] : []),
    ...plan.template.next,
  ];
  return {
    dir: plan.target,
    template: plan.template.name,
    agent: { ...plan.fields, created },
    files: files.map((f) => f.path),
    bunkerDependency: dependency,
    install,
    git,
    next,
  };
}
