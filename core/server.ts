// Listening on a port and draining: refuse new work, let in-flight requests finish within the shutdown budget.
import type { AnyElysia } from "elysia";
import type { CoreConfig } from "./config";
import type { Logger } from "./logger";

export type ServerState = "starting" | "ready" | "draining" | "stopped";

type ServerConfig = CoreConfig["server"];
export type BunServer = NonNullable<AnyElysia["server"]>;

/** The URL clients reach the server at: server.baseUrl, else host and port (0.0.0.0 is reached on loopback). */
export function advertisedUrl(server: ServerConfig, port: number = server.port): string {
  if (server.baseUrl) return server.baseUrl;
  return `http://${server.host === "0.0.0.0" ? "127.0.0.1" : server.host}:${port}`;
}

export function listenOn(app: AnyElysia, server: ServerConfig): BunServer {
  app.listen({ hostname: server.host, port: server.port, maxRequestBodySize: server.maxRequestBodySize });
  return app.server!;
}

/** Resolves with work's value, or "timeout" once ms pass (the timer is cleared either way). */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | "timeout"> {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => (handle = setTimeout(() => resolve("timeout"), Math.max(0, ms))));
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(handle);
  }
}

/** Time left until deadline (epoch ms), never negative. */
export const remaining = (deadline: number) => Math.max(0, deadline - Date.now());

/** Closes the listener, lets in-flight requests finish until deadline (epoch ms), then closes what is left. */
export async function drain(server: BunServer, deadline: number, log: Logger): Promise<void> {
  const closed = server.stop(false);
  // stop(false) settles only once idle keep-alive connections have closed too, so the in-flight count decides;
  // Bun has no event for it.
  while (server.pendingRequests > 0 && remaining(deadline) > 0) {
    if ((await within(closed, Math.min(10, remaining(deadline)))) !== "timeout") break;
  }
  if (server.pendingRequests > 0) log.warn("drain timeout: closing remaining connections", { in_flight: server.pendingRequests });
  // A short grace for the last responses to flush, inside the same budget.
  await within(closed, Math.min(50, remaining(deadline)));
  await server.stop(true);
}
