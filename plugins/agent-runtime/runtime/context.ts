// The per-request context, reachable from anywhere during an invocation through AsyncLocalStorage.
import { AsyncLocalStorage } from "node:async_hooks";

/** AgentCore's headers, which Bunker's host also sends, plus Bunker's own session header. */
export const SESSION_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id";
export const REQUEST_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-request-id";
export const BUNKER_SESSION_HEADER = "x-bunker-session-id";

export interface RequestContext {
  /** The sandbox (= session) this agent runs in, when the caller said. */
  readonly sandboxId: string | undefined;
  /** Same as sandboxId (the seed's backwards-compatible name). */
  readonly sessionId: string | undefined;
  readonly requestId: string;
  /** The request's headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Aborts when the client goes away (or the invocation times out). */
  readonly signal: AbortSignal;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the invocation running now, or undefined outside one. */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** The context of the invocation running now; throws outside one. */
export function requireContext(): RequestContext {
  const ctx = storage.getStore();
  if (!ctx) throw new Error("No agent request context: called outside an invocation");
  return ctx;
}

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function buildContext(request: Request, body: unknown, signal: AbortSignal): RequestContext {
  const fromBody =
    body && typeof body === "object" && typeof (body as Record<string, unknown>).sandbox_id === "string"
      ? ((body as Record<string, unknown>).sandbox_id as string)
      : undefined;
  const sandboxId = request.headers.get(SESSION_HEADER) || request.headers.get(BUNKER_SESSION_HEADER) || fromBody || undefined;
  const requestId = request.headers.get(REQUEST_ID_HEADER) || crypto.randomUUID();
  let headers: Readonly<Record<string, string>> | undefined;
  return Object.freeze({
    sandboxId,
    sessionId: sandboxId,
    requestId,
    signal,
    // Copied on first use: most agents never look at them.
    get headers() {
      return (headers ??= Object.freeze(Object.fromEntries(request.headers)));
    },
  });
}
