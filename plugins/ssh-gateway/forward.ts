// `ssh -L`: a direct-tcpip channel to localhost:PORT reaches PORT on the sandbox's own loopback (through liteboxd's
// portTarget tunnel); any other destination is refused, so the gateway is never a way out to other hosts.
import { connect } from "node:net";
import type { AcceptConnection, RejectConnection, ServerChannel, TcpipRequestInfo } from "ssh2";
import type { SessionScope } from "./session";

const LOCAL_NAMES = new Set(["localhost", "127.0.0.1", "::1", "ip6-localhost", "0.0.0.0"]);

export async function serveForward(
  accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: TcpipRequestInfo, scope: SessionScope,
): Promise<void> {
  if (!LOCAL_NAMES.has(info.destIP.toLowerCase()) || info.destPort < 1 || info.destPort > 65535) {
    scope.record("Warning", "SSHForwardRefused", `forwarding to ${info.destIP}:${info.destPort} refused (only localhost ports inside the sandbox)`);
    return reject();
  }
  let target: { host: string; port: number };
  try {
    target = await scope.sandboxes.portTarget(scope.sandboxId, info.destPort, scope.owner);
  } catch {
    return reject();
  }
  const socket = connect(target.port, target.host);
  socket.once("error", () => reject());
  socket.once("connect", () => {
    socket.removeAllListeners("error");
    scope.record("Normal", "SSHForward", `port ${info.destPort} forwarded to ${info.srcIP}:${info.srcPort}`);
    const channel = accept();
    channel.on("error", () => undefined);
    socket.on("data", scope.touch);
    channel.on("data", scope.touch);
    socket.pipe(channel).pipe(socket);
    const closeBoth = () => {
      socket.destroy();
      channel.close();
    };
    socket.on("error", closeBoth);
    socket.on("close", closeBoth);
    channel.on("close", () => socket.destroy());
  });
}
