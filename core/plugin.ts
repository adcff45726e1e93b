// The plugin contract: what a plugin declares and what the core hands it in setup().
import type { Static, TObject } from "@sinclair/typebox";
import type { AnyElysia } from "elysia";
import type { Database, Migration } from "./db";
import type { BunkerError } from "./errors";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { ServiceRegistry } from "./services";

export type { SystemRequirements } from "./system";
import type { SystemRequirements } from "./system";

export interface BackgroundTaskOptions {
  /** Run every intervalMs; without it the task runs once, started after all plugins have started. */
  intervalMs?: number;
  /** Run once right at start as well (interval tasks only). */
  runAtStart?: boolean;
}

export interface PluginContext<TConfig> {
  readonly name: string;
  readonly config: TConfig;
  readonly log: Logger;
  readonly db: Database;
  /** A directory owned by this plugin, created before setup. */
  readonly dataDir: string;
  /** Where the plugin's routes are mounted, e.g. "/api/v1". */
  readonly prefix: string;
  /** The server's own base URL, e.g. http://127.0.0.1:8080 (known before listen). */
  readonly baseUrl: string;
  /** Aborted when the server begins to shut down. */
  readonly signal: AbortSignal;
  readonly debug: boolean;
  readonly services: ServiceRegistry;
  readonly metrics: Metrics;
  /** Apply this plugin's migrations now (setup may call it; otherwise the core does it after setup). */
  migrate(migrations: readonly Migration[]): Promise<number[]>;
  onStart(fn: () => void | Promise<void>): void;
  onStop(fn: () => void | Promise<void>): void;
  /** A supervised task: errors are logged, never crash the server; stopped at shutdown. */
  background(name: string, fn: (signal: AbortSignal) => void | Promise<void>, options?: BackgroundTaskOptions): void;
  /** Paths under the prefix that skip API-key auth (glob: `*` one segment, `**` the rest), e.g. "/sandbox/*\/port/**". */
  publicPaths(...patterns: string[]): void;
  /** For a plugin whose clients need another error body (LiteBoxd's): inside its own `.onError(hook => …)`, turns what
   * the route raised (validation, parse, a thrown error) into the one error type, logging unexpected ones, so only
   * the rendering differs from the core's. */
  toBunkerError(hook: { code: string | number; error: unknown; request: Request; set?: unknown }): BunkerError;
  /** Show a warning in /health under this key; null clears it. */
  healthWarning(key: string, message: string | null): void;
}

/** What the `bunker` command hands a plugin's command. */
export interface CommandHelpers {
  /** The plugin that declares the command. */
  readonly plugin: string;
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  /** The server's config file from `bunker --config FILE`, when given (else BUNKER_CONFIG or ./bunker.yaml apply). */
  readonly configFile?: string;
  /** Writes a line to stdout. */
  out(text: string): void;
  /** Writes a line to stderr. */
  err(text: string): void;
  /** The server's database (from its config) with the core's and this plugin's migrations applied; closed when the
   * command returns. For commands that work on the server's data while it is stopped. */
  openDatabase(): Promise<Database>;
}

/** A subcommand of `bunker`, e.g. `bunker agent …`: listed in `bunker help` with its plugin. */
export interface PluginCommand {
  /** One line for `bunker help`. */
  summary: string;
  /** Shown by `bunker help <name>` (the command itself answers its own --help). */
  usage: string;
  /** Gets the arguments after the command name, untouched; returns the exit status (nothing means 0). */
  run(args: string[], helpers: CommandHelpers): Promise<number | void> | number | void;
}

export interface PluginDefinition<TSchema extends TObject = TObject> {
  name: string;
  version: string;
  description?: string;
  dependsOn?: string[];
  /** Default mount prefix; users change it with `plugins.<name>.prefix`. */
  prefix?: string;
  config: TSchema;
  migrations?: readonly Migration[];
  system?: SystemRequirements;
  /** Subcommands of `bunker` by name. Keep their imports lazy (`await import(...)` in run) so the server and other
   * commands do not load them. */
  commands?: Record<string, PluginCommand>;
  setup(ctx: PluginContext<Static<TSchema>>): AnyElysia | void | Promise<AnyElysia | void>;
}

export const PLUGIN_MARK = Symbol.for("bunker.plugin");

export function definePlugin<TSchema extends TObject>(def: PluginDefinition<TSchema>): PluginDefinition<TSchema> {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) {
    throw new Error(`definePlugin: name "${def.name}" must be lowercase letters, digits and dashes`);
  }
  for (const command of Object.keys(def.commands ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(command)) throw new Error(`definePlugin: ${def.name}: command "${command}" must be lowercase letters, digits and dashes`);
  }
  return Object.assign(def, { [PLUGIN_MARK]: true });
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PLUGIN_MARK] === true;
}
