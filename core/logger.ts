// JSON-lines logger with child bindings; values under secret-looking keys never reach the output.
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|authorization|credential|private[_-]?key)/i;

export interface Logger {
  level: LogLevel;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
  enabled(level: LogLevel): boolean;
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== "" ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

export type LogSink = (line: string) => void;
const stdoutSink: LogSink = (line) => process.stdout.write(line + "\n");

export function createLogger(
  level: LogLevel = "info",
  bindings: Record<string, unknown> = {},
  sink: LogSink = stdoutSink,
): Logger {
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < LEVELS[logger.level]) return;
    const entry = { time: new Date().toISOString(), level: lvl, msg, ...bindings, ...(fields ? (redact(fields) as object) : {}) };
    sink(JSON.stringify(entry));
  };
  const logger: Logger = {
    level,
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (more) => {
      const child = createLogger(logger.level, { ...bindings, ...more }, sink);
      return child;
    },
    enabled: (lvl) => LEVELS[lvl] >= LEVELS[logger.level],
  };
  return logger;
}
