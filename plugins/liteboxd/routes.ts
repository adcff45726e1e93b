// HTTP only: the LiteBoxd /api/v1 routes. Parse, call a service, shape the response exactly as the contract says.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { boundedBody, BunkerError, Elysia, principalOf, quoted, t } from "bunker/core";
import type { ImportStrategy, SandboxService, TemplateService } from "./contract";
import { errors } from "./errors";
import { boundaryOf, readMultipart } from "./multipart";
import { CreateSandboxBody, CreateTemplateBody, ExecBody, PrepullBody, RollbackBody, UpdateTemplateBody } from "./schema";

const user = (request: Request) => principalOf(request).userId;

export function sandboxRoutes(sandboxes: SandboxService) {
  return new Elysia({ name: "liteboxd-sandboxes" })
    .post("/sandboxes", async ({ body, request, set }) => {
      const sandbox = await sandboxes.create(body, user(request));
      set.status = 201;
      return sandbox;
    }, { body: CreateSandboxBody })
    .get("/sandboxes", async ({ query, request }) => ({ items: await sandboxes.list(user(request), query.include_terminating !== "false") }), {
      query: t.Object({ include_terminating: t.Optional(t.String()) }),
    })
    .get("/sandboxes/:id", ({ params, request }) => sandboxes.get(params.id, user(request)))
    .delete("/sandboxes/:id", async ({ params, request, set }) => {
      const sandbox = await sandboxes.remove(params.id, user(request));
      set.status = 202;
      return sandbox;
    })
    .post("/sandboxes/:id/pause", ({ params, request }) => sandboxes.pause(params.id, user(request)))
    .post("/sandboxes/:id/resume", ({ params, request }) => sandboxes.resume(params.id, user(request)))
    .post("/sandboxes/:id/exec", ({ params, body, request }) => sandboxes.exec(params.id, body, user(request)), { body: ExecBody })
    .get("/sandboxes/:id/logs", ({ params, query, request }) => {
      const tail = query.tail === undefined || query.tail === "all" ? undefined : Number(query.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw errors.INVALID_REQUEST("tail must be a non-negative integer or \"all\"");
      return sandboxes.logs(params.id, user(request), query.tail === undefined ? 100 : tail);
    }, { query: t.Object({ tail: t.Optional(t.String()) }) })
    .get("/sandboxes/:id/files", async ({ params, query, request }) => {
      const file = await sandboxes.download(params.id, query.path, user(request));
      return new Response(file.body, { headers: { "content-type": "application/octet-stream", "content-length": String(file.size) } });
    }, { query: t.Object({ path: t.Optional(t.String()) }) })
    .post("/sandboxes/:id/files", async ({ params, request }) => {
      await uploadMultipart(request, (path, body) => sandboxes.upload(params.id, path, body, user(request)));
      return { message: "file uploaded successfully" };
    }, { parse: "none" });
}

/** Streams the `file` part into the sandbox; a `path` part that comes after the file makes us spool to disk first. */
async function uploadMultipart(request: Request, write: (path: string | undefined, body: ReadableStream<Uint8Array>) => Promise<number>) {
  const boundary = boundaryOf(request.headers.get("content-type"));
  if (!boundary || !request.body) throw errors.INVALID_REQUEST("expected a multipart/form-data body with fields file and path");
  let path: string | undefined;
  let current: string | undefined;
  let text = "";
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let writing: Promise<number> | undefined;
  let spool: { dir: string; file: string; sink: import("bun").FileSink } | undefined;
  let sawFile = false;
  try {
    for await (const e of readMultipart(request.body, boundary)) {
      if (e.type === "part") {
        current = e.name;
        text = "";
        if (current === "file") {
          sawFile = true;
          if (path !== undefined) {
            const pipe = new TransformStream<Uint8Array, Uint8Array>();
            writer = pipe.writable.getWriter();
            writing = write(path, pipe.readable);
            writing.catch(() => undefined);
          } else {
            const dir = mkdtempSync(join(tmpdir(), "liteboxd-upload-"));
            const file = join(dir, "body");
            spool = { dir, file, sink: Bun.file(file).writer() };
          }
        }
      } else if (e.type === "data") {
        if (current === "file") {
          if (writer) await Promise.race([writer.write(e.chunk), writing!.then(() => undefined)]);
          else spool?.sink.write(e.chunk);
        } else if (current === "path") {
          text += new TextDecoder().decode(e.chunk);
          if (text.length > 4096) throw errors.INVALID_REQUEST("path is too long");
        }
      } else if (current === "path") path = text;
      else if (current === "file" && writer) await writer.close();
      else if (current === "file" && spool) await spool.sink.end();
    }
    if (!sawFile) throw errors.INVALID_REQUEST("the multipart field \"file\" is required");
    if (writing) await writing;
    else if (spool) await write(path, Bun.file(spool.file).stream());
  } catch (error) {
    // Not awaited: aborting a pipe that nobody reads any more can wait forever.
    writer?.abort(error).catch(() => undefined);
    if (error instanceof BunkerError) throw error;
    if ((error as Error).message?.startsWith("malformed multipart")) throw errors.INVALID_REQUEST((error as Error).message);
    throw error;
  } finally {
    if (spool) rmSync(spool.dir, { recursive: true, force: true });
  }
}

export interface TemplateRouteOptions {
  /** The most a YAML import request may carry (plugins.liteboxd.maxImportBytes). */
  maxImportBytes: number;
}

export function templateRoutes(templates: TemplateService, options: TemplateRouteOptions) {
  const yaml = (text: string) => new Response(text, { headers: { "content-type": "application/x-yaml" } });
  const caller = principalOf;
  return new Elysia({ name: "liteboxd-templates" })
    .post("/templates", async ({ body, request, set }) => {
      const tpl = await templates.create(body, caller(request));
      set.status = 201;
      return tpl;
    }, { body: CreateTemplateBody })
    .get("/templates", ({ query, request }) => templates.list({
      tag: query.tag, search: query.search, page: pageNumber("page", query.page, 1), pageSize: pageNumber("pageSize", query.pageSize, 20),
    }, caller(request)), { query: t.Object({ tag: t.Optional(t.String()), search: t.Optional(t.String()), page: t.Optional(t.String()), pageSize: t.Optional(t.String()) }) })
    .get("/templates/export", async ({ query, request }) => yaml(await templates.exportAll({
      tag: query.tag, names: query.names ? query.names.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    }, caller(request))), { query: t.Object({ tag: t.Optional(t.String()), names: t.Optional(t.String()) }) })
    .post("/templates/import", async ({ request }) => {
      // Refused with 413 once past the cap: by its Content-Length before anything is read, or while it streams (a
      // chunked body has none), so an oversized import is never held in memory or parsed.
      const tooLarge = () => errors.PAYLOAD_TOO_LARGE(`the import body is larger than ${options.maxImportBytes} bytes (plugins.liteboxd.maxImportBytes)`);
      const body = await new Response(boundedBody(request, options.maxImportBytes, tooLarge)).blob();
      const form = await new Response(body, { headers: { "content-type": request.headers.get("content-type") ?? "" } }).formData().catch(() => {
        throw errors.INVALID_REQUEST("expected a multipart/form-data body with a file field");
      });
      const file = form.get("file");
      if (file === null) throw errors.INVALID_REQUEST("the multipart field \"file\" is required");
      const strategy = String(form.get("strategy") ?? "create-or-update") as ImportStrategy;
      if (!["create-only", "update-only", "create-or-update"].includes(strategy)) {
        throw errors.INVALID_REQUEST(`unknown strategy "${quoted(strategy, 256)}": use create-only, update-only or create-or-update`);
      }
      const text = typeof file === "string" ? file : await file.text();
      return templates.importYaml(text, strategy, String(form.get("prepull")) === "true", caller(request));
    }, { parse: "none" })
    .get("/templates/:name", ({ params, request }) => templates.get(params.name, caller(request)))
    .put("/templates/:name", ({ params, body, request }) => templates.update(params.name, body, caller(request)), { body: UpdateTemplateBody })
    .delete("/templates/:name", async ({ params, request, set }) => {
      await templates.remove(params.name, caller(request));
      set.status = 204;
      return "";
    })
    .get("/templates/:name/versions", ({ params, request }) => templates.versions(params.name, caller(request)))
    .get("/templates/:name/versions/:version", ({ params, request }) => templates.version(params.name, versionNumber(params.version), caller(request)))
    .post("/templates/:name/rollback", ({ params, body, request }) => templates.rollback(params.name, body.targetVersion, body.changelog, caller(request)), { body: RollbackBody })
    .get("/templates/:name/export", async ({ params, query, request }) => yaml(await templates.exportOne(params.name, query.version ? versionNumber(query.version) : undefined, caller(request))), {
      query: t.Object({ version: t.Optional(t.String()) }),
    })
    .post("/templates/:name/prepull", async ({ params, request, set }) => {
      const task = await templates.prepullTemplate(params.name, caller(request));
      set.status = 202;
      return task;
    })
    .post("/images/prepull", async ({ body, request, set }) => {
      const task = await templates.prepull(body, caller(request));
      set.status = 202;
      return task;
    }, { body: PrepullBody })
    .get("/images/prepull", ({ query, request }) => templates.prepulls({ image: query.image, status: query.status }, caller(request)), {
      query: t.Object({ image: t.Optional(t.String()), status: t.Optional(t.String()) }),
    })
    .get("/images/prepull/:id", ({ params, request }) => templates.getPrepull(params.id, caller(request)))
    .delete("/images/prepull/:id", async ({ params, request, set }) => {
      await templates.deletePrepull(params.id, caller(request));
      set.status = 204;
      return "";
    });
}

// Integers as LiteBoxd parses them (Go's strconv.Atoi): "1.5", "abc" or a number past nine digits is a 400, not
// "page 1.5" or "2.02e+27". 0 or less falls back to the first page, and pageSize is capped at 100 by the service.
function pageNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  if (!/^[+-]?\d{1,9}$/.test(text)) throw errors.INVALID_REQUEST(`${name} must be an integer of at most nine digits, got "${quoted(text, 256)}"`);
  const n = Number(text);
  return n >= 1 ? n : fallback;
}

/** Versions are SQL INTEGERs: nine digits at most, so PostgreSQL never sees a value out of its range. */
function versionNumber(text: string): number {
  const n = Number(text);
  if (!/^\d{1,9}$/.test(text) || n < 1) throw errors.INVALID_REQUEST(`version must be a positive integer, got "${quoted(text, 256)}"`);
  return n;
}

