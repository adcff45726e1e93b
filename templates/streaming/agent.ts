// {{name}}: a streaming Bunker agent. POST /invocations returns text/event-stream, one `data:` frame per token.
import { AgentRuntimeApp, type RequestContext } from "bunker/agent";

export interface AgentRequest {
  prompt?: string;
  /** Pause between tokens, to watch them arrive (default 0). */
  delay_ms?: number;
}

export interface Token {
  index: number;
  token: string;
  done: boolean;
}

const app = new AgentRuntimeApp();

// An async generator streams: every `yield` becomes one SSE frame as soon as it is produced.
app.entrypoint(async function* (request: AgentRequest, context: RequestContext): AsyncGenerator<Token> {
  const words = (request.prompt ?? "").split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new Error('send {"prompt": "..."}');
  // Replace this with your model's token stream.
  for (const [index, word] of words.entries()) {
    if (context.signal.aborted) return; // the caller went away: stop working
    if (request.delay_ms) await Bun.sleep(request.delay_ms);
    yield { index, token: word, done: index === words.length - 1 };
  }
});

export default app;

// `bun agent.ts` serves on port 8080 (BUNKER_AGENT_PORT overrides); importing the file (tests) does not.
if (import.meta.main) app.run();
