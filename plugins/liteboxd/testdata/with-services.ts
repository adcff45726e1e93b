// A Bunker with liteboxd and a consumer plugin written the way agent-runtime is: it lists liteboxd in dependsOn and
// requires the services, which the tests then use as another plugin would.
import { createBunker, definePlugin, t, type Bunker, type BunkerServices } from "bunker/core";
import liteboxd from "../index";

export interface LiteboxdServices {
  bunker: Bunker;
  sandboxes: BunkerServices["liteboxd.sandboxes"];
  templates: BunkerServices["liteboxd.templates"];
}

export async function startWithServices(dataDir: string, liteboxdConfig: Record<string, unknown> = {}): Promise<LiteboxdServices> {
  let services: Omit<LiteboxdServices, "bunker"> | undefined;
  const consumer = definePlugin({
    name: "consumer",
    version: "0.0.1",
    dependsOn: ["liteboxd"],
    config: t.Object({}),
    setup(ctx) {
      ctx.onStart(() => {
        services = { sandboxes: ctx.services.require("liteboxd.sandboxes"), templates: ctx.services.require("liteboxd.templates") };
      });
    },
  });
  const bunker = await createBunker({
    builtins: false, plugins: [liteboxd, consumer],
    config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: liteboxdConfig } },
  });
  await bunker.listen();
  return { bunker, ...services! };
}
