// The wire models of the gateway's HTTP routes (public keys and the gateway's own address and host key).
import { t } from "bunker/core";

export const AddKeyBody = t.Object({
  /** One OpenSSH public key line, e.g. "ssh-ed25519 AAAA… alice@laptop". */
  publicKey: t.String({ minLength: 16, maxLength: 16_384 }),
  /** A label; defaults to the key's comment. */
  name: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
});

export const KeyParams = t.Object({ id: t.String({ minLength: 1, maxLength: 100 }) });

export const SshKey = t.Object({
  id: t.String(),
  name: t.String(),
  type: t.String(),
  fingerprint: t.String(),
  publicKey: t.String(),
  createdAt: t.String(),
});

export const KeyList = t.Object({ keys: t.Array(SshKey) });

export const GatewayInfo = t.Object({
  enabled: t.Boolean(),
  host: t.String(),
  port: t.Union([t.Integer(), t.Null()]),
  hostKey: t.Union([t.Object({ type: t.String(), fingerprint: t.String(), publicKey: t.String() }), t.Null()]),
  usage: t.String(),
});

export type SshKeyWire = typeof SshKey.static;
