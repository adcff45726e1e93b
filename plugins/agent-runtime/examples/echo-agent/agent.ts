// An example agent: `{"prompt": "..."}` echoes; `{"prompt": "...", "stream": true}` streams one token per word.
import { AgentRuntimeApp, type RequestContext } from "bunker/agent";

const app = new AgentRuntimeApp();
let invocations = 0; // memory that survives pause/resume, gone with a new session

interface EchoRequest {
  prompt?: string;
  stream?: boolean;
  delay_ms?: number;
}

async function* tokens(words: string[], delayMs: number, signal: AbortSignal) {
  for (const [index, word] of words.entries()) {
    if (signal.aborted) return;
    if (delayMs > 0) await Bun.sleep(delayMs);
    yield { index, token: word };
  }
}

app.entrypoint((request: EchoRequest, context: RequestContext) => {
  invocations++;
  const prompt = request.prompt ?? "";
  if (request.stream) return tokens(prompt.split(/\s+/).filter(Boolean), request.delay_ms ?? 0, context.signal);
  return { echo: prompt, invocations, session: context.sessionId ?? null };
});

app.run();
