import { describe, expect, test } from "bun:test";
import { resolveRuntimeConfig } from "./config";

describe("runtime configuration", () => {
  test("environment variables override defaults and code overrides the environment", () => {
    const env = { BUNKER_AGENT_PORT: "9000", BUNKER_AGENT_DEBUG: "true", BUNKER_AGENT_CORS_ORIGINS: "a.example, b.example" };
    const fromEnv = resolveRuntimeConfig({}, env);
    expect(fromEnv.port).toBe(9000);
    expect(fromEnv.debug).toBe(true);
    expect(fromEnv.corsOrigins).toEqual(["a.example", "b.example"]);
    expect(resolveRuntimeConfig({ port: 7000 }, env).port).toBe(7000);
  });

  test("a malformed number in the environment is an error naming the variable", () => {
    expect(() => resolveRuntimeConfig({}, { BUNKER_AGENT_TIMEOUT: "soon" })).toThrow("BUNKER_AGENT_TIMEOUT");
  });
});
