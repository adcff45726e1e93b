// `bunker agent invoke`: call a deployed agent once (a fresh session) or in a session, printing streamed chunks
// the moment they arrive.
import { parseArgs } from "node:util";
import { parseSse } from "../client";
import { call, resolveConnection } from "./connection";
import { CliError, EXIT, usageError } from "./errors";
import { findProject, readRaw } from "./project";

export const INVOKE_USAGE = `usage: bunker agent invoke --input TEXT [--template-id ID] [--stream] [--session ID] [--timeout SEC] [--json]

  --input TEXT       a JSON object is sent as is; other text is sent as {"prompt": TEXT}; "-" reads stdin
  --template-id ID   the deployed agent (default: status.template_id in ./agent.yaml, or --dir's)
  --stream           ask for Server-Sent Events and print each chunk as it arrives
  --session ID       invoke inside an existing session instead of a fresh one
  --timeout SEC      seconds to wait for an answer, and between streamed chunks (default 300)
  --json             print the whole response (streams: one JSON line per chunk)`;

/** The request body: a JSON object as written, anything else as a prompt. */
export function invocationBody(input: string): Record<string, unknown> {
  const text = input.trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
    } catch {
      // not JSON after all: a prompt that starts with a brace
    }
  }
  return { prompt: input };
}

/** How a chunk prints: text as is, anything else as one line of JSON. */
const chunkText = (chunk: unknown) => (typeof chunk === "string" ? chunk : JSON.stringify(chunk));

function templateIdFromProject(dir: string | undefined): string {
  let raw: Record<string, unknown>;
  try {
    raw = readRaw(findProject(dir));
  } catch {
    throw usageError("--template-id ID is needed (no agent.yaml here with a deployed status.template_id)");
  }
  const status = raw.status as { template_id?: string } | undefined;
  const spec = raw.spec as { sandbox?: { template_id?: string } } | undefined;
  const id = status?.template_id ?? spec?.sandbox?.template_id;
  if (!id) throw usageError("--template-id ID is needed (agent.yaml has no status.template_id: run bunker agent deploy first)");
  return id;
}

/** Reads SSE frames, failing with TIMEOUT when the stream is silent longer than idleMs. */
async function* withIdleTimeout<T>(source: AsyncGenerator<T>, idleMs: number): AsyncGenerator<T> {
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CliError(EXIT.TIMEOUT, "TIMEOUT", `the stream was silent for ${idleMs / 1000}s`)), idleMs);
    });
    try {
      const next = await Promise.race([source.next(), silence]);
      if (next.done) return;
      yield next.value;
    } catch (err) {
      await source.return(undefined as never).catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

export async function invoke(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      "template-id": { type: "string" },
      input: { type: "string" },
      stream: { type: "boolean" },
      session: { type: "string" },
      timeout: { type: "string" },
      dir: { type: "string" },
      json: { type: "boolean" },
      url: { type: "string" },
      "api-key": { type: "string" },
      prefix: { type: "string" },
    },
    strict: true,
  });
  if (v.input === undefined) throw usageError(`--input TEXT is needed\n${INVOKE_USAGE}`);
  const timeoutSec = v.timeout === undefined ? 300 : Number(v.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw usageError(`--timeout must be a positive number of seconds (got ${v.timeout})`);
  const input = v.input === "-" ? await new Response(Bun.stdin.stream()).text() : v.input;
  const conn = resolveConnection({ url: v.url, apiKey: v["api-key"], prefix: v.prefix });
  const path = v.session
    ? `/sessions/${encodeURIComponent(v.session)}/invocations`
    : `/templates/${encodeURIComponent(v["template-id"] ?? templateIdFromProject(v.dir))}/invocations`;
  const timeoutMs = timeoutSec * 1000;
  const response = await call(conn, path, {
    method: "POST",
    body: invocationBody(input),
    accept: v.stream ? "text/event-stream" : "application/json",
    timeoutMs,
  });
  const out = (text: string) => process.stdout.write(`${text}\n`);

  if (response.headers.get("content-type")?.includes("text/event-stream")) {
    try {
      for await (const chunk of withIdleTimeout(parseSse(response.body!), timeoutMs)) out(v.json ? JSON.stringify(chunk) : chunkText(chunk));
    } catch (err) {
      if (err instanceof CliError) throw err;
      // parseSse turns the agent's `event: error` frame into an InvocationError
      throw new CliError(EXIT.FAILED, "AGENT_ERROR", `the agent failed while streaming: ${(err as Error).message}`);
    }
    return EXIT.OK;
  }
  const body = (await response.json()) as { result?: unknown };
  if (v.json) out(JSON.stringify(body));
  else out(typeof body.result === "string" ? body.result : JSON.stringify(body.result, null, 2));
  return EXIT.OK;
}
