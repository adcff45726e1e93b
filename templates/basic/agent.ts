// {{name}}: a Bunker agent. POST /invocations with JSON, get JSON back; GET /ping answers health checks.
import { AgentRuntimeApp, type RequestContext } from "bunker/agent";

export interface AgentRequest {
  prompt?: string;
}

export interface AgentAnswer {
  answer: string;
  words: number;
  session: string | null;
}

const app = new AgentRuntimeApp();

app.entrypoint((request: AgentRequest, context: RequestContext): AgentAnswer => {
  const prompt = (request.prompt ?? "").trim();
  if (!prompt) throw new Error('send {"prompt": "..."}');
  // Replace this with your agent: call a model, run tools, read files...
  return {
    answer: `You asked: ${prompt}`,
    words: prompt.split(/\s+/).length,
    session: context.sessionId ?? null,
  };
});

export default app;

// `bun agent.ts` serves on port 8080 (BUNKER_AGENT_PORT overrides); importing the file (tests) does not.
if (import.meta.main) app.run();
