#!/usr/bin/env bun
// `bunker` command: serve, and manage API keys. Subcommands of other packages register in COMMANDS.
import { parseArgs } from "node:util";
import { createBunker } from "./app";
import { ConfigError, loadCoreConfig, readConfigFile, applyEnv } from "./config";
import { ApiKeyStore, authMigrations } from "./auth";
import { migrate, openDatabase } from "./db";
import { isAbsolute, join, resolve } from "node:path";

const USAGE = `usage: bunker <command> [options]

commands:
  serve [--config FILE]                      start the server (default command)
  keys create --user ID [--name NAME]        create an API key (printed once)
  keys list                                  list keys (never the secrets)
  keys revoke ID                             revoke a key
  agent configure|deploy|invoke|dev          work with an agent project (bunker agent --help)
options:
  --config FILE   bunker.yaml to read (default ./bunker.yaml, or BUNKER_CONFIG)
  --json          machine-readable output (keys)`;

function fail(message: string, code = 2): never {
  process.stderr.write(`bunker: ${message}\n`);
  process.exit(code);
}

async function serve(configFile?: string) {
  let bunker;
  try {
    bunker = await createBunker({ configFile });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78);
    throw err;
  }
  process.on("unhandledRejection", (reason) => bunker.log.error("unhandled rejection", { error: reason }));
  const { url } = await bunker.listen();
  bunker.log.info("listening", { url, docs: `${url}/docs` });
  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    bunker.stop(sig).then(() => process.exit(0), (err) => {
      bunker.log.error("shutdown failed", { error: err });
      process.exit(1);
    });
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

async function keysCommand(args: string[], configFile: string | undefined, json: boolean) {
  const file = readConfigFile(configFile ?? process.env.BUNKER_CONFIG);
  const config = loadCoreConfig(applyEnv(file.config, process.env, new Map()));
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(file.baseDir, config.dataDir);
  const db = openDatabase({ url: config.databaseUrl, sqlitePath: join(dataDir, "bunker.db") });
  await migrate(db, "core", authMigrations);
  const store = new ApiKeyStore(db);
  const { values, positionals } = parseArgs({ args, options: { user: { type: "string" }, name: { type: "string" } }, allowPositionals: true });
  const [sub, id] = positionals;
  try {
    if (sub === "create") {
      if (!values.user) fail("keys create needs --user ID");
      const { key, info } = await store.create(values.user, values.name ?? "default");
      if (json) console.log(JSON.stringify({ key, ...info }));
      else console.log(`${key}\n\nkey id ${info.id} for user ${info.userId}. This is the only time the key is shown.`);
    } else if (sub === "list") {
      const keys = await store.list();
      if (json) console.log(JSON.stringify(keys));
      else for (const k of keys) console.log(`${k.id}  user=${k.userId}  name=${k.name}  created=${k.createdAt}${k.revokedAt ? `  revoked=${k.revokedAt}` : ""}`);
    } else if (sub === "revoke") {
      if (!id) fail("keys revoke needs a key id");
      if (!(await store.revoke(id))) fail(`no active key with id ${id}`, 1);
      if (json) console.log(JSON.stringify({ revoked: id }));
      else console.log(`revoked ${id}`);
    } else fail(`unknown keys command "${sub ?? ""}"\n${USAGE}`);
  } catch (err) {
    fail((err as Error).message, 1);
  } finally {
    await db.close();
  }
}

/** Subcommands that live outside the core, loaded only when used. */
export const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  agent: async (args) => (await import("../create-agent/cli/agent.ts")).agentCommand(args),
};

export async function main(argv = process.argv.slice(2)) {
  const configAt = argv.indexOf("--config");
  const configFile = configAt >= 0 ? argv[configAt + 1] : undefined;
  if (configAt >= 0 && !configFile) fail("--config needs a file path");
  const rest = configAt >= 0 ? [...argv.slice(0, configAt), ...argv.slice(configAt + 2)] : argv;
  const [command = "serve", ...tail] = rest;
  // Extra commands get their arguments untouched (their own --json and --config).
  const extra = COMMANDS[command];
  if (extra) return extra(argv.slice(argv.indexOf(command) + 1));
  const json = rest.includes("--json");
  const args = tail.filter((a) => a !== "--json");
  if (command === "help" || command === "--help" || command === "-h") return console.log(USAGE);
  if (command === "serve") return serve(configFile);
  if (command === "keys") return keysCommand(args, configFile, json);
  fail(`unknown command "${command}"\n${USAGE}`);
}

if (import.meta.main) await main();
