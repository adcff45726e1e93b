// RuntimeConfig: how an agent's HTTP server runs, with defaults and BUNKER_AGENT_* environment overrides.

export interface RuntimeConfig {
  /** Interface to bind (default 0.0.0.0, so the host can reach the agent inside its sandbox). */
  host: string;
  /** Port to listen on (default 8080, the AgentCore contract's port). */
  port: number;
  /** Include stack traces in error bodies and log each request. */
  debug: boolean;
  /** Seconds a non-streaming invocation may run before it is aborted with 504 (default 300). */
  timeout: number;
  /** Largest accepted request body in bytes (default 1 MiB); larger bodies get 413. */
  maxRequestSize: number;
  /** Origins allowed by CORS ("*" for any; empty for no CORS headers). */
  corsOrigins: string[];
  /** Serve Prometheus-style counters on GET /metrics. */
  enableMetrics: boolean;
  /** Milliseconds of generator silence before an SSE `: ping` comment is sent (default 15 000). */
  ssePingIntervalMs: number;
}

export const DEFAULT_RUNTIME_CONFIG: Readonly<RuntimeConfig> = Object.freeze({
  host: "0.0.0.0",
  port: 8080,
  debug: false,
  timeout: 300,
  maxRequestSize: 1024 * 1024,
  corsOrigins: ["*"],
  enableMetrics: true,
  ssePingIntervalMs: 15_000,
});

function parseBoolean(value: string): boolean {
  return ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

function parseNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}="${value}" is not a non-negative number`);
  return n;
}

/** Reads BUNKER_AGENT_{HOST,PORT,DEBUG,TIMEOUT,MAX_REQUEST_SIZE,CORS_ORIGINS,ENABLE_METRICS}. */
export function runtimeConfigFromEnv(env: Record<string, string | undefined> = process.env): Partial<RuntimeConfig> {
  const out: Partial<RuntimeConfig> = {};
  const get = (key: string) => env[`BUNKER_AGENT_${key}`];
  const host = get("HOST");
  if (host) out.host = host;
  const port = get("PORT");
  if (port) out.port = parseNumber("BUNKER_AGENT_PORT", port);
  const debug = get("DEBUG");
  if (debug) out.debug = parseBoolean(debug);
  const timeout = get("TIMEOUT");
  if (timeout) out.timeout = parseNumber("BUNKER_AGENT_TIMEOUT", timeout);
  const size = get("MAX_REQUEST_SIZE");
  if (size) out.maxRequestSize = parseNumber("BUNKER_AGENT_MAX_REQUEST_SIZE", size);
  const cors = get("CORS_ORIGINS");
  if (cors !== undefined) out.corsOrigins = cors.split(",").map((s) => s.trim()).filter(Boolean);
  const metrics = get("ENABLE_METRICS");
  if (metrics) out.enableMetrics = parseBoolean(metrics);
  return out;
}

/** Defaults, then the environment, then what the code passed (the code wins). */
export function resolveRuntimeConfig(
  given: Partial<RuntimeConfig> = {},
  env: Record<string, string | undefined> = process.env,
): RuntimeConfig {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_RUNTIME_CONFIG, corsOrigins: [...DEFAULT_RUNTIME_CONFIG.corsOrigins], ...runtimeConfigFromEnv(env), ...defined };
}
