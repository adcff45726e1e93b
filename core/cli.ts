#!/usr/bin/env bun
// `bunker` command: serve, manage API keys, and the commands plugins declare (`definePlugin({ commands })`).
import { parseArgs } from "node:util";
import { createBunker } from "./app";
import { ApiKeyStore } from "./auth";
import { discoverPlugins, loadConfiguration, openCoreDatabase, type FoundPlugin } from "./boot";
import { ConfigError } from "./config";
import { migrate, type Database } from "./db";
import type { CommandHelpers, PluginCommand } from "./plugin";

const CORE_USAGE = `usage: bunker <command> [options]

commands:
  serve [--config FILE]                      start the server (default command)
  keys create --user ID [--name NAME] [--admin]
                                             create an API key (printed once); --admin: sees every user's objects
  keys list                                  list keys (never the secrets)
  keys revoke ID                             revoke a key
  help [COMMAND]                             this text, or a plugin command's usage`;

const CORE_OPTIONS = `options:
  --config FILE   bunker.yaml to read (default ./bunker.yaml, or BUNKER_CONFIG)
  --json          machine-readable output (keys)`;

const CORE_COMMANDS = new Set(["serve", "keys", "help", "--help", "-h"]);
/** Config errors exit with EX_CONFIG, as sysexits(3) has it. */
const EXIT_CONFIG = 78;

function fail(message: string, code = 2): never {
  process.stderr.write(`bunker: ${message}\n`);
  process.exit(code);
}

interface DeclaredCommand extends PluginCommand {
  name: string;
  plugin: FoundPlugin;
}

/** Commands of every installed plugin; two claiming one name (or a core command's) is an error naming both. */
async function pluginCommands(configFile: string | undefined): Promise<Map<string, DeclaredCommand>> {
  const commands = new Map<string, DeclaredCommand>();
  for (const plugin of await discoverPlugins({ configFile })) {
    for (const [name, command] of Object.entries(plugin.def.commands ?? {})) {
      if (CORE_COMMANDS.has(name)) throw new ConfigError(`plugin "${plugin.def.name}" declares command "${name}", which is the core's`);
      const taken = commands.get(name);
      if (taken) throw new ConfigError(`plugins "${taken.plugin.def.name}" and "${plugin.def.name}" both declare command "${name}"`);
      commands.set(name, { ...command, name, plugin });
    }
  }
  return commands;
}

function usage(commands: Map<string, DeclaredCommand>): string {
  const listed = [...commands.values()].map((c) => `  ${c.name.padEnd(41)}  ${c.summary} (plugin ${c.plugin.def.name})`);
  return [CORE_USAGE, ...(listed.length ? ["\nplugin commands:", ...listed] : []), CORE_OPTIONS].join("\n");
}

async function withConfigErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EXIT_CONFIG);
    throw err;
  }
}

async function serve(configFile?: string) {
  const bunker = await withConfigErrors(() => createBunker({ configFile }));
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
  const db = await withConfigErrors(async () => openCoreDatabase(await loadConfiguration({ configFile })));
  const store = new ApiKeyStore(db);
  const { values, positionals } = parseArgs({ args, options: { user: { type: "string" }, name: { type: "string" }, admin: { type: "boolean" } }, allowPositionals: true });
  const [sub, id] = positionals;
  try {
    if (sub === "create") {
      if (!values.user) fail("keys create needs --user ID");
      const { key, info } = await store.create(values.user, values.name ?? "default", { role: values.admin ? "admin" : "user" });
      if (json) console.log(JSON.stringify({ key, ...info }));
      else console.log(`${key}\n\n${info.role === "admin" ? "admin " : ""}key id ${info.id} for user ${info.userId}. This is the only time the key is shown.`);
    } else if (sub === "list") {
      const keys = await store.list();
      if (json) console.log(JSON.stringify(keys));
      else for (const k of keys) console.log(`${k.id}  user=${k.userId}  role=${k.role}  name=${k.name}  created=${k.createdAt}${k.revokedAt ? `  revoked=${k.revokedAt}` : ""}`);
    } else if (sub === "revoke") {
      if (!id) fail("keys revoke needs a key id");
      if (!(await store.revoke(id))) fail(`no active key with id ${id}`, 1);
      if (json) console.log(JSON.stringify({ revoked: id }));
      else console.log(`revoked ${id}`);
    } else fail(`unknown keys command "${sub ?? ""}"\n${CORE_USAGE}`);
  } catch (err) {
    fail((err as Error).message, 1);
  } finally {
    await db.close();
  }
}

/** Runs a plugin's command with the helpers it is promised; the database it opens is closed afterwards. */
async function runPluginCommand(command: DeclaredCommand, args: string[], configFile: string | undefined): Promise<number> {
  const opened: Database[] = [];
  const helpers: CommandHelpers = {
    plugin: command.plugin.def.name,
    cwd: process.cwd(),
    env: process.env,
    configFile,
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    async openDatabase() {
      const db = await openCoreDatabase(await loadConfiguration({ configFile }));
      opened.push(db);
      await migrate(db, command.plugin.def.name, command.plugin.def.migrations ?? []);
      return db;
    },
  };
  try {
    return (await command.run(args, helpers)) ?? 0;
  } finally {
    for (const db of opened) await db.close();
  }
}

/** `--config FILE` anywhere for the core's commands; for a plugin's command only before its name (what follows is
 * the command's own). */
function splitConfig(args: string[]): { configFile?: string; rest: string[] } {
  const at = args.indexOf("--config");
  if (at < 0) return { rest: args };
  const configFile = args[at + 1];
  if (!configFile) fail("--config needs a file path");
  return { configFile, rest: [...args.slice(0, at), ...args.slice(at + 2)] };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const nameAt = argv.findIndex((a, i) => !a.startsWith("--config") && argv[i - 1] !== "--config");
  const command = argv[nameAt] ?? "serve";
  if (command === "serve" || command === "keys") {
    const { configFile, rest } = splitConfig(argv);
    if (command === "serve") return serve(configFile);
    const args = rest.slice(rest.indexOf("keys") + 1);
    return keysCommand(args.filter((a) => a !== "--json"), configFile, args.includes("--json"));
  }
  const { configFile } = splitConfig(nameAt < 0 ? argv : argv.slice(0, nameAt));
  const args = nameAt < 0 ? [] : argv.slice(nameAt + 1);
  const commands = await withConfigErrors(() => pluginCommands(configFile));
  if (command === "help" || command === "--help" || command === "-h") {
    const about = args[0] ? commands.get(args[0]) : undefined;
    if (args[0] && !about) fail(`unknown command "${args[0]}"\n${usage(commands)}`);
    return console.log(about ? about.usage : usage(commands));
  }
  const declared = commands.get(command);
  if (!declared) fail(`unknown command "${command}"\n${usage(commands)}`);
  process.exit(await runPluginCommand(declared, args, configFile));
}

if (import.meta.main) await main();
