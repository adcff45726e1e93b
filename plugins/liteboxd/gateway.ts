// The port gateway: /api/v1/sandbox/:id/port/:port/* carries HTTP and WebSocket into a port on the sandbox's own
// loopback (through the driver's tunnel; the sandbox keeps no network of its own). The sandbox's X-Access-Token is the
// auth (checked against its hash, stripped before forwarding, never logged); responses stream through unbuffered and a
// caller's disconnect aborts the upstream request, which closes the connection inside the sandbox.
import type { Server, ServerWebSocket } from "bun";
import { Elysia, quoted } from "bunker/core";
import type { SandboxService } from "./contract";
import { errors } from "./errors";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];
export const ACCESS_TOKEN_HEADER = "x-access-token";

interface WsBridge {
  open?(ws: ServerWebSocket<WsBridge>): void;
  message?(ws: ServerWebSocket<WsBridge>, message: string | Buffer): void;
  close?(ws: ServerWebSocket<WsBridge>, code: number, reason: string): void;
}

function forwardHeaders(request: Request, target: { host: string; port: number }, url: URL): Headers {
  const headers = new Headers(request.headers);
  headers.delete(ACCESS_TOKEN_HEADER);
  for (const h of HOP_BY_HOP) headers.delete(h);
  for (const h of [...headers.keys()]) if (h.startsWith("sec-websocket-")) headers.delete(h);
  headers.delete("host");
  headers.set("host", `${target.host}:${target.port}`);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
  const prefix = /^.*?\/port\/\d+/.exec(url.pathname)?.[0];
  if (prefix) headers.set("x-forwarded-prefix", prefix);
  return headers;
}

/** Resolves the caller's access token and the sandbox's port; errors are BunkerErrors (rendered flat). */
async function resolveTarget(sandboxes: SandboxService, request: Request, id: string, portText: string) {
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw errors.INVALID_REQUEST(`invalid port "${quoted(portText, 256)}"`);
  const token = request.headers.get(ACCESS_TOKEN_HEADER);
  if (!token) throw errors.ACCESS_TOKEN_INVALID(`missing ${ACCESS_TOKEN_HEADER} header`);
  const access = await sandboxes.verifyAccessToken(id, token);
  if (!access) throw errors.ACCESS_TOKEN_INVALID(`invalid access token for sandbox ${quoted(id, 256)}`);
  const target = await sandboxes.portTarget(id, port, access.owner);
  return { target, port };
}

/** The part of the path after /port/<n> (kept raw: no decoding), plus the query. */
function upstreamPath(url: URL): string {
  const rest = url.pathname.replace(/^.*?\/port\/\d+/, "");
  return (rest.startsWith("/") ? rest : `/${rest}`) + url.search;
}

async function proxyHttp(request: Request, target: { host: string; port: number }, url: URL): Promise<Response> {
  const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== null;
  let upstream: Response;
  try {
    upstream = await fetch(`http://${target.host}:${target.port}${upstreamPath(url)}`, {
      method: request.method,
      headers: forwardHeaders(request, target, url),
      body: hasBody ? request.body : undefined,
      redirect: "manual",
      signal: request.signal,
      decompress: false,
      duplex: "half",
    } as RequestInit);
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    throw errors.PORT_UNREACHABLE(`nothing answered on port ${target.port} in the sandbox: ${(error as Error).message}`);
  }
  const headers = new Headers(upstream.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}

/** Opens the WebSocket inside the sandbox first (so its subprotocol choice and refusals reach the caller), then
 * upgrades the caller and relays frames both ways; either side closing closes the other. */
async function proxyWebSocket(request: Request, server: Server<WsBridge>, target: { host: string; port: number }, url: URL): Promise<Response | undefined> {
  const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  const headers: Record<string, string> = {};
  forwardHeaders(request, target, url).forEach((v, k) => {
    if (k !== "host") headers[k] = v;
  });
  const upstream = new WebSocket(`ws://${target.host}:${target.port}${upstreamPath(url)}`, { headers, protocols } as unknown as string[]);
  upstream.binaryType = "arraybuffer";
  const early: Array<string | ArrayBuffer> = [];
  let client: ServerWebSocket<WsBridge> | undefined;
  upstream.onmessage = (e) => (client ? client.send(e.data) : early.push(e.data));
  const opened = await new Promise<boolean>((resolve) => {
    upstream.onopen = () => resolve(true);
    upstream.onerror = () => resolve(false);
    upstream.onclose = () => resolve(false);
  });
  if (!opened) throw errors.PORT_UNREACHABLE(`no WebSocket server accepted the connection on port ${target.port} in the sandbox`);
  upstream.onclose = (e) => client?.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, e.reason);
  upstream.onerror = () => client?.close(1011, "upstream error");
  const data: WsBridge = {
    open(ws) {
      client = ws;
      for (const m of early.splice(0)) ws.send(m);
    },
    message(_ws, message) {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(message);
    },
    close(_ws, code, reason) {
      client = undefined;
      upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    },
  };
  const ok = server.upgrade(request, { data, headers: upstream.protocol ? { "sec-websocket-protocol": upstream.protocol } : undefined });
  if (!ok) {
    upstream.close();
    throw errors.INVALID_REQUEST("expected a WebSocket upgrade");
  }
  return undefined;
}

export function gatewayRoutes(sandboxes: SandboxService) {
  const handler = async ({ params, request, server }: { params: Record<string, string>; request: Request; server: Server<WsBridge> | null }) => {
    const url = new URL(request.url);
    const { target } = await resolveTarget(sandboxes, request, params.id!, params.port!);
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (!server) throw errors.INVALID_REQUEST("WebSocket needs a listening server");
      return proxyWebSocket(request, server, target, url);
    }
    return proxyHttp(request, target, url);
  };
  return new Elysia({ name: "liteboxd-gateway" })
    .all("/sandbox/:id/port/:port", handler as never, { parse: "none" })
    .all("/sandbox/:id/port/:port/*", handler as never, { parse: "none" });
}
