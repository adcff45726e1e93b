// Calls the agent in-process through app.handle: no port, no server.
import { describe, expect, test } from "bun:test";
import type { InvocationResponse } from "bunker/agent";
import app, { type AgentAnswer } from "./agent.ts";

const invoke = (body: unknown, headers: Record<string, string> = {}) =>
  app.handle(
    new Request("http://localhost/invocations", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );

describe("{{name}}", () => {
  test("answers a prompt with JSON", async () => {
    const response = await invoke({ prompt: "what is Bunker" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as InvocationResponse;
    expect(body.status).toBe("success");
    expect(body.result).toEqual({ answer: "You asked: what is Bunker", words: 3, session: null });
  });

  test("knows the session it runs in", async () => {
    const response = await invoke({ prompt: "hi" }, { "x-bunker-session-id": "s-1" });
    const body = (await response.json()) as InvocationResponse;
    expect((body.result as AgentAnswer).session).toBe("s-1");
  });

  test("reports a missing prompt as an error", async () => {
    const response = await invoke({});
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: string }).error).toContain("prompt");
  });

  test("is healthy", async () => {
    const response = await app.handle(new Request("http://localhost/ping"));
    expect(((await response.json()) as { status: string }).status).toBe("Healthy");
  });
});
