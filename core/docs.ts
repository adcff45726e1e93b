// Serves the OpenAPI UI's assets from node_modules so /docs works offline.
import { Elysia } from "elysia";
import { dirname, join } from "node:path";

const ASSETS = new Set(["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]);
const assetDir = dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));

export function docsRoutes() {
  return new Elysia({ name: "bunker-docs" }).get(
    "/docs/assets/:file",
    ({ params, set }) => {
      if (!ASSETS.has(params.file)) {
        set.status = 404;
        return "not found";
      }
      return new Response(Bun.file(join(assetDir, params.file)), { headers: { "cache-control": "public, max-age=86400" } });
    },
    { detail: { hide: true } },
  );
}
