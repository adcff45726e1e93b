// HTTP only: parse, call the service, shape the response. The user is always the API key's user.
import { Elysia, principalOf } from "bunker/core";
import * as S from "./schema";
import type { DesktopService } from "./service";
import type { StreamRegistry } from "./streams";

const userOf = (request: Request) => principalOf(request).userId;

export function desktopRoutes(service: DesktopService, streams: StreamRegistry) {
  return new Elysia()
    .post("/desktops", async ({ body, request, set }) => {
      const info = await service.create(userOf(request), body);
      set.status = 201;
      return info;
    }, { body: S.CreateDesktopBody, response: { 201: S.DesktopInfo }, detail: { summary: "Create a desktop for the caller" } })
    .get("/desktops", ({ request }) => ({ desktops: service.list(userOf(request)) }), { detail: { summary: "List the caller's desktops" } })
    .get("/desktops/:id", ({ params, request }) => service.info(userOf(request), params.id), { params: S.DesktopId, response: S.DesktopInfo })
    .delete("/desktops/:id", async ({ params, request }) => {
      await service.destroy(userOf(request), params.id);
      return { destroyed: true, sandbox_id: params.id };
    }, { params: S.DesktopId })
    .get("/stats", ({ request }) => service.stats(userOf(request)))
    .post("/cleanup", ({ body, request }) => service.cleanup(userOf(request), body), { body: S.CleanupBody })

    // mouse
    .post("/desktops/:id/mouse/click", async ({ params, body, request }) => ({
      cursor: await service.click(userOf(request), params.id, body.x, body.y, body.button ?? "left", body.double ?? false),
    }), { params: S.DesktopId, body: S.ClickBody })
    .post("/desktops/:id/mouse/move", async ({ params, body, request }) => ({
      cursor: await service.move(userOf(request), params.id, body.x, body.y),
    }), { params: S.DesktopId, body: S.MoveBody })
    .post("/desktops/:id/mouse/drag", async ({ params, body, request }) => ({
      cursor: await service.drag(userOf(request), params.id, body.path, body.button ?? "left"),
    }), { params: S.DesktopId, body: S.DragBody })
    .post("/desktops/:id/mouse/scroll", async ({ params, body, request }) => {
      await service.scroll(userOf(request), params.id, body.direction, body.amount ?? 3);
      return { success: true };
    }, { params: S.DesktopId, body: S.ScrollBody })
    .post("/desktops/:id/mouse/down", async ({ params, body, request }) => {
      await service.button(userOf(request), params.id, body.button ?? "left", true);
      return { success: true };
    }, { params: S.DesktopId, body: S.ButtonBody })
    .post("/desktops/:id/mouse/up", async ({ params, body, request }) => {
      await service.button(userOf(request), params.id, body.button ?? "left", false);
      return { success: true };
    }, { params: S.DesktopId, body: S.ButtonBody })
    .get("/desktops/:id/mouse/cursor", ({ params, request }) => service.cursor(userOf(request), params.id), { params: S.DesktopId })

    // keyboard
    .post("/desktops/:id/keyboard/type", async ({ params, body, request }) => {
      await service.type(userOf(request), params.id, body.text, body.chunk_size ?? 25, body.delay_ms ?? 12);
      return { success: true, characters: [...body.text].length };
    }, { params: S.DesktopId, body: S.TypeBody })
    .post("/desktops/:id/keyboard/press", async ({ params, body, request }) => {
      await service.press(userOf(request), params.id, [body.key]);
      return { success: true };
    }, { params: S.DesktopId, body: S.PressBody })
    .post("/desktops/:id/keyboard/combination", async ({ params, body, request }) => {
      await service.press(userOf(request), params.id, body.keys);
      return { success: true };
    }, { params: S.DesktopId, body: S.CombinationBody })

    // screenshots: the image itself, with its size in headers
    .get("/desktops/:id/screenshot", async ({ params, query, request }) => {
      const image = await service.screenshot(userOf(request), params.id, query);
      return new Response(new Uint8Array(image.data), {
        headers: { "content-type": image.mime, "x-image-width": String(image.width), "x-image-height": String(image.height), "cache-control": "no-store" },
      });
    }, { params: S.DesktopId, query: S.ScreenshotQuery })

    // files
    .get("/desktops/:id/files", async ({ params, query, request }) => {
      const data = await service.readFile(userOf(request), params.id, query.path);
      const encoding = query.encoding ?? "utf8";
      return { path: query.path, encoding, size: data.byteLength, content: Buffer.from(data).toString(encoding) };
    }, { params: S.DesktopId, query: S.FilePathQuery })
    .put("/desktops/:id/files", ({ params, body, request }) =>
      service.writeFile(userOf(request), params.id, body.path, Buffer.from(body.content, body.encoding ?? "utf8")),
    { params: S.DesktopId, body: S.WriteFileBody })
    .post("/desktops/:id/files/open", async ({ params, body, request }) => {
      await service.openFile(userOf(request), params.id, body.path);
      return { success: true };
    }, { params: S.DesktopId, body: S.OpenFileBody })

    // applications and windows
    .post("/desktops/:id/apps/launch", async ({ params, body, request }) => {
      const app = await service.launch(userOf(request), params.id, body.application, body.uri);
      return { success: true, application: body.application, app };
    }, { params: S.DesktopId, body: S.LaunchBody })
    .get("/desktops/:id/apps", async ({ params, request }) => ({
      apps: await service.apps(userOf(request), params.id),
    }), { params: S.DesktopId })
    .get("/desktops/:id/windows/current", async ({ params, request }) => ({
      window_id: await service.currentWindow(userOf(request), params.id),
    }), { params: S.DesktopId })
    .get("/desktops/:id/windows", async ({ params, query, request }) => ({
      windows: await service.applicationWindows(userOf(request), params.id, query.application),
    }), { params: S.DesktopId, query: S.WindowsQuery })
    .get("/desktops/:id/windows/:windowId/title", async ({ params, request }) => ({
      window_id: params.windowId,
      title: await service.windowTitle(userOf(request), params.id, params.windowId),
    }), { params: S.WindowParams })

    // commands
    .post("/desktops/:id/commands", ({ params, body, request }) =>
      service.run(userOf(request), params.id, body.command, body.timeout_seconds ?? 30),
    { params: S.DesktopId, body: S.CommandBody, response: S.CommandResult })

    // live views
    .post("/desktops/:id/streams", async ({ params, body, request, set }) => {
      const info = await streams.start(userOf(request), params.id, body);
      set.status = 201;
      return info;
    }, { params: S.DesktopId, body: S.StartStreamBody, response: { 201: S.StreamInfo } })
    .get("/desktops/:id/streams", ({ params, request }) => ({ streams: streams.list(userOf(request), params.id) }), { params: S.DesktopId })
    .post("/desktops/:id/streams/:streamId/token", ({ params, request }) => streams.refresh(userOf(request), params.id, params.streamId),
      { params: S.StreamParams, response: S.StreamInfo })
    .delete("/desktops/:id/streams/:streamId", async ({ params, request }) => {
      await streams.stop(userOf(request), params.id, params.streamId);
      return { stopped: true, stream_id: params.streamId };
    }, { params: S.StreamParams });
}
