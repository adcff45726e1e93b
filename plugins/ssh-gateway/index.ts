// ssh-gateway: `ssh`, `scp`, `sftp` and `ssh -L` into liteboxd sandboxes through an SSH server built on ssh2.
// Off unless `port` is set; binds to loopback by default. Routes under /ssh manage users' public keys.
import { existsSync } from "node:fs";
import { definePlugin, Elysia, t } from "bunker/core";
import { startGateway, type Gateway } from "./gateway";
import { loadOrCreateHostKey, type HostKey } from "./hostkey";
import { createKeyService } from "./keys";
import { keyRoutes } from "./routes";
import { SFTP_SERVER } from "./session";
import { createKeyStore, migrations } from "./store";

export default definePlugin({
  name: "ssh-gateway",
  version: "0.1.0",
  description: "SSH, SCP, SFTP and port forwarding into sandboxes (user name = sandbox id)",
  dependsOn: ["liteboxd"],
  prefix: "/ssh",
  config: t.Object({
    /** The SSH port; the gateway is off when unset (0 picks a free port). */
    port: t.Optional(t.Integer({ minimum: 0, maximum: 65535 })),
    host: t.String({ default: "127.0.0.1", minLength: 1 }),
    /** A connection without traffic for this long is closed (before login too). */
    idleTimeoutSeconds: t.Integer({ minimum: 1, default: 900 }),
    maxConnectionsPerSandbox: t.Integer({ minimum: 1, default: 10 }),
    maxConnectionsPerUser: t.Integer({ minimum: 1, default: 20 }),
  }),
  migrations,
  // sftp-server runs inside the sandbox, whose root is the host's (read-only): installing it here puts it there.
  system: { programs: { "/usr/lib/openssh/sftp-server": "openssh-sftp-server" }, testApt: ["openssh-client", "sshpass", "tmux"] },
  setup(ctx) {
    const keys = createKeyService(createKeyStore(ctx.db));
    const { port, host } = ctx.config;
    let gateway: Gateway | undefined;
    let hostKey: HostKey | undefined;
    if (port !== undefined) {
      hostKey = loadOrCreateHostKey(ctx.dataDir);
      ctx.onStart(async () => {
        const sandboxes = ctx.services.require("liteboxd.sandboxes");
        if (!existsSync(SFTP_SERVER)) ctx.healthWarning("sftp", `${SFTP_SERVER} is missing: sftp and scp fail until openssh-sftp-server is installed`);
        gateway = await startGateway({
          host, port, hostKey: hostKey!, sandboxes, keys, log: ctx.log,
          idleTimeoutSeconds: ctx.config.idleTimeoutSeconds,
          maxConnectionsPerSandbox: ctx.config.maxConnectionsPerSandbox,
          maxConnectionsPerUser: ctx.config.maxConnectionsPerUser,
        });
      });
      ctx.metrics.gauge("ssh_gateway_connections", "Authenticated SSH connections", () => gateway?.connections() ?? 0);
      ctx.onStop(async () => {
        await gateway?.close();
        gateway = undefined;
      });
    }
    const info = () => ({
      enabled: gateway !== undefined,
      host,
      port: gateway?.port ?? null,
      hostKey: hostKey ? { type: hostKey.type, fingerprint: hostKey.fingerprint, publicKey: hostKey.publicKey } : null,
      usage: gateway
        ? `ssh -p ${gateway.port} <sandbox-id>@${host} (password: the sandbox's access token, or a key registered at ${ctx.prefix}/keys)`
        : "the SSH gateway is off: set plugins.ssh-gateway.port to enable it",
    });
    return new Elysia({ name: "ssh-gateway" }).use(keyRoutes(keys, { info }));
  },
});
