// HTTP only: the caller's SSH public keys, and where the gateway listens with which host key.
import { Elysia, principalOf } from "bunker/core";
import type { KeyService } from "./keys";
import { AddKeyBody, GatewayInfo, KeyList, KeyParams } from "./schema";

export interface GatewayInfoSource {
  info(): typeof GatewayInfo.static;
}

export function keyRoutes(keys: KeyService, gateway: GatewayInfoSource) {
  return new Elysia({ name: "ssh-gateway-routes" })
    .get("/", () => gateway.info(), { response: GatewayInfo, detail: { summary: "Where the SSH gateway listens and its host key" } })
    .get("/keys", async ({ request }) => ({ keys: await keys.list(principalOf(request).userId) }), {
      response: KeyList,
      detail: { summary: "List your SSH public keys" },
    })
    .post("/keys", async ({ body, request, set }) => {
      const key = await keys.add(principalOf(request).userId, body.publicKey, body.name);
      set.status = 201;
      return key;
    }, { body: AddKeyBody, detail: { summary: "Register an SSH public key: it then logs in to every sandbox you own" } })
    .delete("/keys/:id", async ({ params, request, set }) => {
      await keys.remove(principalOf(request).userId, params.id);
      set.status = 204;
      return "";
    }, { params: KeyParams, detail: { summary: "Remove one of your SSH public keys" } });
}
