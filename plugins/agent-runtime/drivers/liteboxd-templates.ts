// Bridge until liteboxd provides its template service as "liteboxd.templates": the same template rules over the
// same tables, built from liteboxd's own modules. Only create/update/get/remove are used (no prepull, no images).
import type { Database } from "bunker/core";
import { createStore } from "../../liteboxd/store";
import { createTemplateService } from "../../liteboxd/templates";
import type { SandboxDriver } from "../../liteboxd/drivers/types";
import type { LiteboxdTemplates } from "./liteboxd";

const refuse = (what: string) => {
  throw new Error(`${what} is not available through the agent-runtime template bridge`);
};

/** Prepull and sandbox creation are never reached through this bridge: they refuse loudly if they were. */
const noDriver: SandboxDriver = {
  name: "agent-runtime-template-bridge",
  checkImage: () => ({ ok: false, reason: "image checks are not available through the agent-runtime template bridge" }),
  create: () => refuse("sandbox creation"),
  cleanupOrphan: async () => refuse("orphan cleanup"),
};

export function liteboxdTemplatesBridge(db: Database): LiteboxdTemplates {
  return createTemplateService(createStore(db), noDriver);
}
