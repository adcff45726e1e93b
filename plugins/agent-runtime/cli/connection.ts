// Where the Bunker server is and how to call it: flags, then BUNKER_URL / BUNKER_API_KEY, then a config file.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CliError, EXIT } from "./errors";

export interface Connection {
  url: string;
  apiKey?: string;
  /** Where the agent-runtime plugin is mounted. */
  prefix: string;
}

export const DEFAULT_URL = "http://127.0.0.1:8080";
export const DEFAULT_PREFIX = "/agent-runtime";

/** BUNKER_CLI_CONFIG, else $XDG_CONFIG_HOME/bunker/cli.yaml, else ~/.config/bunker/cli.yaml. */
export function cliConfigPath(env: Record<string, string | undefined> = process.env): string {
  if (env.BUNKER_CLI_CONFIG) return env.BUNKER_CLI_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "bunker", "cli.yaml");
}

function readCliConfig(file: string): { url?: string; apiKey?: string; prefix?: string } {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CliError(EXIT.USAGE, "BAD_CONFIG", `${file}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new CliError(EXIT.USAGE, "BAD_CONFIG", `${file}: expected a mapping (url, apiKey, prefix)`);
  const c = parsed as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  return { url: str(c.url), apiKey: str(c.apiKey ?? c.api_key), prefix: str(c.prefix) };
}

export function resolveConnection(
  flags: { url?: string; apiKey?: string; prefix?: string },
  env: Record<string, string | undefined> = process.env,
): Connection {
  const file = readCliConfig(cliConfigPath(env));
  const url = flags.url ?? env.BUNKER_URL ?? file.url ?? DEFAULT_URL;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(EXIT.USAGE, "USAGE", `the server URL must start with http:// or https:// (got ${JSON.stringify(url)})`);
  const prefix = flags.prefix ?? env.BUNKER_AGENT_PREFIX ?? file.prefix ?? DEFAULT_PREFIX;
  return {
    url: url.replace(/\/+$/, ""),
    apiKey: flags.apiKey ?? env.BUNKER_API_KEY ?? file.apiKey,
    prefix: `/${prefix.replace(/^\/+|\/+$/g, "")}`.replace(/^\/$/, ""),
  };
}

export interface CallOptions {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (an archive), with its content type. */
  upload?: { bytes: Uint8Array<ArrayBuffer>; type: string };
  accept?: string;
  /** Milliseconds until the response starts. */
  timeoutMs: number;
}

/** The error the server sent (Bunker's `{"error":{code,message}}` or an agent's `{"error","error_type"}`). */
async function serverError(response: Response, what: string): Promise<CliError> {
  const text = await response.text().catch(() => "");
  let code = `HTTP_${response.status}`;
  let message = text.trim() || response.statusText;
  let details: Record<string, unknown> = {};
  let fromAgent = false;
  try {
    const body = JSON.parse(text);
    if (body?.error && typeof body.error === "object") {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      details = body.error.details ?? {};
    } else if (typeof body?.error === "string") {
      // the agent's own error body ({"error", "error_type"}), passed through by the host
      code = body.error_type ?? code;
      message = body.error;
      fromAgent = true;
    }
  } catch {
    /* not JSON: keep the text */
  }
  const exit =
    response.status === 401 || response.status === 403
      ? EXIT.AUTH
      : response.status === 404
        ? EXIT.NOT_FOUND
        : response.status === 504
          ? EXIT.TIMEOUT
          : response.status >= 500 && !fromAgent && code !== "DEPLOY_FAILED"
            ? EXIT.SERVER
            : EXIT.FAILED;
  return new CliError(exit, code, `${what}: ${message} (HTTP ${response.status})`, { status: response.status, ...details });
}

/** Calls the agent host; non-2xx answers become CliErrors with the exit status of their kind. */
export async function call(conn: Connection, path: string, options: CallOptions): Promise<Response> {
  const url = `${conn.url}${conn.prefix}${path}`;
  const method = options.method ?? "GET";
  const headers: Record<string, string> = {};
  if (conn.apiKey) headers.authorization = `Bearer ${conn.apiKey}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.upload) headers["content-type"] = options.upload.type;
  if (options.accept) headers.accept = options.accept;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.upload ? options.upload.bytes : options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: controller.signal,
    });
  } catch (err) {
    if (controller.signal.aborted) {
      throw new CliError(EXIT.TIMEOUT, "TIMEOUT", `${method} ${url}: no answer within ${options.timeoutMs / 1000}s`);
    }
    throw new CliError(EXIT.SERVER, "UNREACHABLE", `${method} ${url}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) throw await serverError(response, `${method} ${url}`);
  return response;
}
