#!/usr/bin/env bun
// Idempotent machine set-up for `bun run server` and the test command: dependencies, Debian packages, pip tools.
// Quick when everything is there; stops with the exact command to run when root is needed and we are not root.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { debianPackages, uninstalledPackages } from "./system";

const ROOT = resolve(import.meta.dir, "..");
const mode = process.argv[2] === "test" ? "test" : "server";
/** Test tools outside any plugin: PostgreSQL (storage suite), tmux (create-agent's prompt tests), git, tar. */
const CORE_TEST_APT = ["postgresql", "tmux", "git", "tar"];

function run(argv: string[], opts: { quiet?: boolean; env?: Record<string, string> } = {}): number {
  const p = Bun.spawnSync(argv, { cwd: ROOT, stdout: opts.quiet ? "pipe" : "inherit", stderr: opts.quiet ? "pipe" : "inherit", env: { ...process.env, ...opts.env } });
  return p.exitCode ?? 1;
}

function say(msg: string) {
  process.stderr.write(`[setup] ${msg}\n`);
}

async function installNodeModules() {
  const frozen = process.env.CI ? ["--frozen-lockfile"] : [];
  if (run([process.execPath, "install", ...frozen], { quiet: true }) !== 0) {
    say("bun install failed; running it again with output:");
    if (run([process.execPath, "install", ...frozen]) !== 0) process.exit(1);
  }
}

async function pluginRequirements() {
  const { discoverBuiltins } = await import("./loader");
  const apt = new Set<string>();
  const pip = new Set<string>();
  for (const { def } of await discoverBuiltins()) {
    for (const p of debianPackages(def.system ?? {}, mode === "test")) apt.add(p);
    for (const p of def.system?.pip ?? []) pip.add(p);
  }
  if (mode === "test") for (const p of CORE_TEST_APT) apt.add(p);
  return { apt: [...apt].sort(), pip: [...pip].sort() };
}

function installDebianPackages(packages: string[]) {
  const missing = uninstalledPackages(packages);
  if (!missing.length) return;
  const cmd = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    say(`these Debian packages are missing: ${missing.join(", ")}. As root, run:\n  sudo sh -c '${cmd}'`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (run(["apt-get", "update", "-q"], { quiet: true, env }) !== 0) say("apt-get update failed; trying the install anyway");
  if (run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing], { env }) !== 0) {
    say(`apt-get install failed. Run it yourself:\n  ${cmd}`);
    process.exit(1);
  }
}

function installPipTools(packages: string[]) {
  for (const pkg of packages) {
    if (Bun.which(pkg)) continue;
    say(`installing ${pkg} with pip`);
    if (run(["python3", "-m", "pip", "install", "-q", pkg]) !== 0) {
      say(`pip install ${pkg} failed. Run it yourself:\n  python3 -m pip install ${pkg}`);
      process.exit(1);
    }
  }
}

await installNodeModules();
const req = await pluginRequirements();
installDebianPackages(req.apt);
installPipTools(req.pip);
if (!existsSync(join(ROOT, "node_modules"))) process.exit(1);
