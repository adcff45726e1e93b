// HTTP routes (paths as in UzonCalc): parse, call the service, shape the response. Plus the /calc page.
import { Elysia, principalOf } from "bunker/core";
import { renderPage } from "./page";
import { InvalidateBody, ResumeBody, SessionBody, SessionParams, StartBody } from "./schema";
import type { CalcService } from "./service";

const detail = (summary: string, description?: string) => ({ detail: { tags: ["uzoncalc"], summary, description } });

export function calcRoutes(service: CalcService, prefix: string) {
  return new Elysia({ name: "uzoncalc-routes" })
    .get(
      "/calc",
      () => {
        const nonce = crypto.randomUUID().replaceAll("-", "");
        return new Response(renderPage({ apiBase: `${prefix}/v1/calc`, nonce }), {
          headers: {
            "content-type": "text/html; charset=utf-8",
            // Sheet reports are HTML: no inline handlers or foreign scripts may run in the page.
            "content-security-policy": `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'`,
          },
        });
      },
      detail("The calculation page: pick a sheet, fill its windows, read the report"),
    )
    .get("/v1/calc/sheets", () => ({ sheets: service.listSheets() }), detail("Sheets in the safe directories and their functions"))
    .post(
      "/v1/calc/execution/start",
      ({ body, request }) => service.start(principalOf(request).userId, body),
      { body: StartBody, ...detail("Start a sheet; runs to its first window", "Responds with status waiting_input and the window, or completed/error.") },
    )
    .post(
      "/v1/calc/execution/resume",
      ({ body, request }) => service.resume(principalOf(request).userId, body.session_id, body.user_input),
      { body: ResumeBody, ...detail("Answer the waiting window; runs to the next window", "400 INVALID_INPUT with details.fields when the input does not fit; the session keeps waiting.") },
    )
    .post(
      "/v1/calc/execution/cancel",
      ({ body, request }) => service.cancel(principalOf(request).userId, body.session_id),
      { body: SessionBody, ...detail("Cancel a session (its finally blocks run)") },
    )
    .get(
      "/v1/calc/execution/status/:session_id",
      ({ params, request }) => service.status(principalOf(request).userId, params.session_id),
      { params: SessionParams, ...detail("A session's state and report so far") },
    )
    .post(
      "/v1/calc/execution/invalidate-cache",
      ({ body }) => service.invalidate(body.file_path),
      { body: InvalidateBody, ...detail("Reload a sheet's module on its next start") },
    );
}
