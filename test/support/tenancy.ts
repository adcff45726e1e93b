// The two-tenant suite's machinery: read the route table of a running Bunker, fill each route's path parameters from
// a table of one user's objects, make a plausible body from the route's schema, and call it as another user.
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { connect } from "node:net";

export interface Route {
  method: string;
  path: string;
  body?: TSchema;
  query?: TSchema;
}

/** Every route the app serves, as Elysia registered it (plugins' prefixes included). */
export function routesOf(app: unknown): Route[] {
  const routes = (app as { routes: Array<{ method: string; path: string; hooks?: { body?: unknown; query?: unknown } }> }).routes;
  return routes.map((r) => ({
    method: r.method,
    path: r.path,
    body: r.hooks?.body && typeof r.hooks.body === "object" ? (r.hooks.body as TSchema) : undefined,
    query: r.hooks?.query && typeof r.hooks.query === "object" ? (r.hooks.query as TSchema) : undefined,
  }));
}

/** `:name` and `*` segments of a route path. */
export function paramsOf(path: string): string[] {
  return path.split("/").filter((s) => s.startsWith(":") || s === "*").map((s) => (s === "*" ? "*" : s.slice(1)));
}

/**
 * One row of the parameter table: under `prefix` (whole segments), the parameter `param` takes `value`.
 * `object` names the kind of thing the value identifies (one of the owner's objects); absent for values that name
 * nothing (a port, a version number, a file of the docs).
 */
export interface ParamRow {
  prefix: string;
  param: string;
  value: () => string;
  object?: string;
}

const segments = (path: string) => path.split("/").filter(Boolean);
const underPrefix = (path: string, prefix: string) => {
  const p = segments(prefix);
  const s = segments(path);
  return p.length <= s.length && p.every((seg, i) => seg === s[i]);
};

export type Filled =
  | { kind: "filled"; url: string; objects: string[] }
  | { kind: "missing"; params: string[] };

/** The route's path with every parameter replaced from the table (the longest matching prefix wins). */
export function fillPath(path: string, table: ParamRow[]): Filled {
  const missing: string[] = [];
  const objects: string[] = [];
  const rowFor = (param: string) =>
    table
      .filter((r) => r.param === param && underPrefix(path, r.prefix))
      .sort((a, b) => segments(b.prefix).length - segments(a.prefix).length)[0];
  const url = path
    .split("/")
    .map((seg) => {
      if (!seg.startsWith(":") && seg !== "*") return seg;
      const param = seg === "*" ? "*" : seg.slice(1);
      const row = rowFor(param);
      if (!row) {
        missing.push(seg);
        return seg;
      }
      if (row.object) objects.push(row.object);
      return encodeURIComponent(row.value());
    })
    .join("/");
  return missing.length ? { kind: "missing", params: missing } : { kind: "filled", url, objects };
}

/** A body the route's schema accepts: the sample when there is one (checked against the schema), else one made from it. */
export function bodyFor(route: Route, sample: unknown): { body: unknown; problem?: string } {
  if (sample !== undefined) {
    if (!route.body || sample instanceof FormData || sample instanceof Uint8Array) return { body: sample };
    const errors = [...Value.Errors(route.body, sample)].map((e) => `${e.path || "/"}: ${e.message}`);
    return { body: sample, problem: errors.length ? `the sample body does not match the schema: ${errors.join("; ")}` : undefined };
  }
  if (!route.body) return { body: undefined };
  try {
    const made = Value.Create(route.body);
    return { body: made, problem: Value.Check(route.body, made) ? undefined : "no sample body and the schema's own does not validate" };
  } catch (error) {
    return { body: undefined, problem: `no sample body and none can be made from the schema (${(error as Error).message})` };
  }
}

export interface Answer {
  status: number;
  text: string;
  json: any;
}

const parse = (text: string) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** One request as the holder of `key`; ALL routes are called with GET, WS routes with an upgrade request. */
export async function callAs(baseUrl: string, key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const auth = { authorization: `Bearer ${key}`, ...headers };
  if (method === "WS") return upgrade(baseUrl, path, auth);
  const init: RequestInit = { method: method === "ALL" ? "GET" : method, headers: { ...auth }, redirect: "manual" };
  if (body instanceof FormData) init.body = body;
  else if (body instanceof Uint8Array) {
    init.body = body as Uint8Array<ArrayBuffer>;
    (init.headers as Record<string, string>)["content-type"] ??= "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await fetch(baseUrl + path, { ...init, signal: AbortSignal.timeout(60_000) });
  // Streams (SSE, downloads) are read to a bound: the status is what matters.
  const text = await readBounded(res, 64 * 1024);
  return { status: res.status, text, json: parse(text) };
}

async function readBounded(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const deadline = Date.now() + 15_000;
  while (size < limit && Date.now() < deadline) {
    const next = await Promise.race([reader.read(), Bun.sleep(Math.max(1, deadline - Date.now())).then(() => null)]);
    if (!next || next.done) break;
    chunks.push(next.value);
    size += next.value.length;
  }
  reader.cancel().catch(() => undefined);
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Sends a WebSocket upgrade over a raw socket and returns the status line's code (101: the socket opened). */
function upgrade(baseUrl: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const url = new URL(baseUrl + path);
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    `Sec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(lines.join("\r\n") + "\r\n\r\n"));
    let data = "";
    const timer = setTimeout(() => finish(), 15_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      if (!status) return reject(new Error(`no HTTP answer to the upgrade of ${path}: ${JSON.stringify(data.slice(0, 200))}`));
      const text = data.slice(data.indexOf("\r\n\r\n") + 4);
      resolve({ status, text, json: parse(text) });
    };
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end))?.[1] ?? 0);
      if (data.startsWith("HTTP/1.1 101") || data.length >= end + 4 + length) finish();
    });
    socket.on("error", (error) => (data ? finish() : reject(error)));
    socket.on("close", () => data && finish());
  });
}

/** The fields of two snapshots that differ, as `path: before → after` lines. */
export function differences(before: unknown, after: unknown, at = ""): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before && after && typeof before === "object" && typeof after === "object" && !Array.isArray(before) && !Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((k) => differences((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], `${at}.${k}`));
  }
  const show = (v: unknown) => (JSON.stringify(v) ?? "undefined").slice(0, 160);
  return [`${at || "."}: ${show(before)} → ${show(after)}`];
}

/** An error body with its request id blanked: two answers that must read alike differ only in that. */
export const withoutRequestId = (body: any) => ({ ...body, error: { ...body.error, request_id: undefined } });

/** The error code of a Bunker or LiteBoxd error body, for messages. */
export const codeOf = (answer: Answer): string => answer.json?.error?.code ?? answer.json?.code ?? answer.json?.error ?? "";
