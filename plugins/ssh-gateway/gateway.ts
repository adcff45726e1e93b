// The SSH server (ssh2): logs a user in to a sandbox (user name = sandbox id; password = its access token, or a
// public key its owner registered), enforces connection limits and the idle timeout, ends sessions when the sandbox
// goes away, and hands session and forwarding channels to session.ts and forward.ts.
import { Server, utils, type AuthContext, type Connection, type ServerChannel } from "ssh2";
import type { Logger } from "bunker/core";
import type { InteractiveProcess, SandboxService } from "../liteboxd/contract";
import { disconnectWithMessage, sendAuthBanner } from "./messages";
import { serveForward } from "./forward";
import type { HostKey } from "./hostkey";
import { fingerprintOf, type KeyService } from "./keys";
import { serveSession, type SessionScope } from "./session";

export interface GatewayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  idleTimeoutSeconds: number;
  maxConnectionsPerSandbox: number;
  maxConnectionsPerUser: number;
  hostKey: HostKey;
  sandboxes: SandboxService;
  keys: KeyService;
  log: Logger;
}

export interface Gateway {
  readonly host: string;
  readonly port: number;
  /** Authenticated connections right now. */
  connections(): number;
  close(): Promise<void>;
}

interface Conn {
  client: Connection;
  ip: string;
  sandboxId?: string;
  owner?: string;
  failures: number;
  /** Session channels running a process (undefined while it starts). */
  running: Map<ServerChannel, InteractiveProcess | undefined>;
  idle: ReturnType<typeof setTimeout>;
  ended: boolean;
}

const METHODS: Array<"publickey" | "password"> = ["publickey", "password"];
const MAX_AUTH_FAILURES = 6;
/** Like sshd's LoginGraceTime and MaxStartups: a login must finish in time, and only so many may be under way. */
const LOGIN_GRACE_MS = 60_000;
const MAX_PENDING_LOGINS = 64;
const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const LIVE = new Set(["running", "pending"]);

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const conns = new Set<Conn>();
  const perSandbox = new Map<string, number>();
  const perUser = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, by: number) => {
    const n = (m.get(k) ?? 0) + by;
    if (n > 0) m.set(k, n);
    else m.delete(k);
  };

  const record = (id: string, type: "Normal" | "Warning", reason: string, message: string) => {
    try {
      o.sandboxes.recordEvent(id, type, reason, message);
    } catch (error) {
      o.log.debug("could not record an SSH event", { id, reason, error: (error as Error).message });
    }
  };

  /** Tells every open channel why and closes it (OpenSSH then prints the message and exits by itself), then
   * disconnects, with the reason in the disconnect too: a channel whose window is full (a command streaming output)
   * may never get its message out. */
  function end(conn: Conn, why: string) {
    if (conn.ended) return;
    conn.ended = true;
    const closing: Promise<unknown>[] = [];
    for (const [channel, proc] of conn.running) {
      try {
        closing.push(new Promise((resolve) => channel.once("close", resolve)));
        // Exit status and close only once the message is out: with the client's window full (a command streaming
        // output) they would otherwise overtake it.
        channel.stderr.write(`\r\nbunker: ${why}\r\n`, () => {
          channel.exit(255);
          channel.end();
        });
      } catch {
        // the channel is already gone
      }
      proc?.kill("SIGHUP");
    }
    const disconnect = () => disconnectWithMessage(conn.client, `bunker: ${why}`);
    if (!closing.length) return disconnect();
    const timer = setTimeout(disconnect, 1000);
    void Promise.all(closing).then(() => {
      clearTimeout(timer);
      disconnect();
    });
  }

  const server = new Server({ hostKeys: [o.hostKey.privateKey], ident: "Bunker" }, (client, info) => {
    const conn: Conn = { client, ip: info.ip, failures: 0, running: new Map(), ended: false, idle: undefined as never };
    if ([...conns].filter((c) => !c.sandboxId).length >= MAX_PENDING_LOGINS) {
      o.log.warn("too many SSH logins under way: connection dropped", { ip: info.ip });
      client.on("error", () => undefined);
      client.end();
      return;
    }
    const grace = setTimeout(() => conn.sandboxId || end(conn, "login took too long"), Math.min(LOGIN_GRACE_MS, o.idleTimeoutSeconds * 1000));
    client.once("ready", () => clearTimeout(grace));
    client.once("close", () => clearTimeout(grace));
    conn.idle = setTimeout(() => {
      if (conn.sandboxId) record(conn.sandboxId, "Normal", "SSHIdleTimeout", `connection from ${conn.ip} idle for ${o.idleTimeoutSeconds}s, closed`);
      end(conn, `no activity for ${o.idleTimeoutSeconds}s: connection closed`);
    }, o.idleTimeoutSeconds * 1000);
    const touch = () => conn.idle.refresh();
    conns.add(conn);

    client.on("authentication", (ctx) => {
      touch();
      authenticate(conn, ctx).catch((error) => {
        o.log.warn("SSH authentication failed with an error", { error: (error as Error).message });
        refuse(conn, ctx);
      });
    });
    client.on("ready", () => {
      const scope: SessionScope = {
        sandboxId: conn.sandboxId!, owner: conn.owner!, sandboxes: o.sandboxes, touch,
        record: (type, reason, message) => record(conn.sandboxId!, type, reason, message),
        track(channel) {
          conn.running.set(channel, undefined);
          return {
            ending: () => conn.ended,
            attach(proc) {
              if (conn.ended) return false;
              conn.running.set(channel, proc);
              return true;
            },
            release: () => void conn.running.delete(channel),
          };
        },
      };
      client.on("session", (accept) => {
        touch();
        serveSession(accept(), scope);
      });
      client.on("tcpip", (accept, reject, info) => {
        touch();
        void serveForward(accept, reject, info, scope);
      });
    });
    client.on("error", (error) => o.log.debug("SSH connection error", { ip: conn.ip, error: error.message }));
    client.on("close", () => {
      clearTimeout(conn.idle);
      conns.delete(conn);
      for (const proc of conn.running.values()) proc?.kill("SIGHUP");
      if (conn.sandboxId) {
        bump(perSandbox, conn.sandboxId, -1);
        bump(perUser, conn.owner!, -1);
        record(conn.sandboxId, "Normal", "SSHLogout", `user ${conn.owner} from ${conn.ip} disconnected`);
      }
    });
  });

  function refuse(conn: Conn, ctx: AuthContext, banner?: string) {
    if (banner) sendAuthBanner(conn.client, `bunker: ${banner}`);
    ctx.reject(METHODS);
    if (++conn.failures >= MAX_AUTH_FAILURES) conn.client.end();
  }

  async function authenticate(conn: Conn, ctx: AuthContext) {
    const id = ctx.username;
    if (conn.sandboxId || !SANDBOX_ID.test(id)) return refuse(conn, ctx);
    if (ctx.method === "password") {
      const found = await o.sandboxes.verifyAccessToken(id, ctx.password);
      if (!found) {
        record(id, "Warning", "SSHLoginFailed", `wrong access token from ${conn.ip}`);
        return refuse(conn, ctx);
      }
      return admit(conn, ctx, id, found.owner, found.status, "access token");
    }
    if (ctx.method === "publickey") {
      const owner = await ownerFor(id, ctx.key.data);
      if (!owner) return refuse(conn, ctx);
      // Without a signature the client only asks whether this key would do; the login happens with the signature.
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      const parsed = utils.parseKey(ctx.key.data);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!key || key instanceof Error || key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return refuse(conn, ctx);
      const { status } = await o.sandboxes.get(id, owner);
      return admit(conn, ctx, id, owner, status, `public key ${fingerprintOf(ctx.key.data)}`);
    }
    refuse(conn, ctx);
  }

  /** The user among those who registered this key who owns the sandbox (a sandbox of another owner is not found). */
  async function ownerFor(id: string, blob: Buffer): Promise<string | undefined> {
    for (const owner of await o.keys.ownersOf(blob)) {
      const ok = await o.sandboxes.get(id, owner).then(() => true, () => false);
      if (ok) return owner;
    }
    return undefined;
  }

  async function admit(conn: Conn, ctx: AuthContext, id: string, owner: string, status: string, how: string) {
    if (status === "pending") {
      status = await o.sandboxes.waitForReady(id, owner, 30_000).then((s) => s.status, () => "not ready");
    }
    if (status === "paused") {
      record(id, "Warning", "SSHLoginRefused", `login from ${conn.ip} refused: the sandbox is paused`);
      return refuse(conn, ctx, `sandbox ${id} is paused: resume it, then connect again`);
    }
    if (status !== "running") return refuse(conn, ctx, `sandbox ${id} is ${status}, not running`);
    if ((perSandbox.get(id) ?? 0) >= o.maxConnectionsPerSandbox) {
      record(id, "Warning", "SSHLoginRefused", `login from ${conn.ip} refused: ${o.maxConnectionsPerSandbox} SSH connections already open`);
      return refuse(conn, ctx, `too many SSH connections to sandbox ${id} (limit ${o.maxConnectionsPerSandbox})`);
    }
    if ((perUser.get(owner) ?? 0) >= o.maxConnectionsPerUser) {
      record(id, "Warning", "SSHLoginRefused", `login from ${conn.ip} refused: user ${owner} has ${o.maxConnectionsPerUser} SSH connections open`);
      return refuse(conn, ctx, `too many SSH connections for your user (limit ${o.maxConnectionsPerUser})`);
    }
    if (conn.ended || !conns.has(conn)) return refuse(conn, ctx);
    conn.sandboxId = id;
    conn.owner = owner;
    bump(perSandbox, id, 1);
    bump(perUser, owner, 1);
    record(id, "Normal", "SSHLogin", `user ${owner} from ${conn.ip} (${how})`);
    ctx.accept();
  }

  const unwatch = o.sandboxes.watch((sandbox) => {
    if (LIVE.has(sandbox.status)) return;
    const why = ["terminating", "deleted"].includes(sandbox.status) ? "was deleted" : `is ${sandbox.status}`;
    for (const conn of conns) if (conn.sandboxId === sandbox.id) end(conn, `sandbox ${sandbox.id} ${why}: connection closed`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error: Error) => o.log.warn("SSH gateway error", { error: error.message }));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : o.port;
  o.log.info("SSH gateway listening", { host: o.host, port, hostKey: o.hostKey.fingerprint });

  return {
    host: o.host,
    port,
    connections: () => [...conns].filter((c) => c.sandboxId).length,
    async close() {
      unwatch();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of conns) end(conn, "the server is shutting down");
      await Promise.race([closed, Bun.sleep(2000)]);
    },
  };
}
