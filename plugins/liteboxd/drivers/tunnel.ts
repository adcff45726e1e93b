// Host loopback listeners that tunnel TCP connections, through the sandbox's supervisor, to a port on the sandbox's
// own loopback: the sandbox has no network the host could route to. Bytes travel as base64 frames (tx in, rx out).
import type { Socket, TCPSocketListener } from "bun";
import { fromBase64, toBase64, type SupervisorChannel } from "./channel";

export interface TunnelState {
  conv?: { id: number; send(msg: Record<string, unknown>): void };
  ready: boolean;
  /** Client bytes waiting for the sandbox side to connect. */
  pending: Uint8Array[];
  /** Sandbox bytes waiting for the client socket to drain. */
  out: Uint8Array[];
  closed: boolean;
  ended: boolean;
}

export function openTunnel(port: number, live: () => SupervisorChannel): TCPSocketListener<TunnelState> {
  const flush = (socket: Socket<TunnelState>) => {
    const st = socket.data;
    while (st.out.length) {
      const chunk = st.out[0]!;
      const n = socket.write(chunk);
      if (n < chunk.byteLength) {
        st.out[0] = chunk.subarray(Math.max(0, n));
        return;
      }
      st.out.shift();
    }
    if (st.ended) socket.end();
  };
  return Bun.listen<TunnelState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (socket) => {
        const st: TunnelState = { ready: false, pending: [], out: [], closed: false, ended: false };
        socket.data = st;
        let channel: SupervisorChannel;
        try {
          channel = live();
        } catch {
          socket.end();
          return;
        }
        const send = (msg: Record<string, unknown>) => {
          try {
            channel.send(msg);
          } catch {
            socket.end();
          }
        };
        const conv = channel.open((e) => {
          if (e.ev === "ok") {
            st.ready = true;
            for (const chunk of st.pending.splice(0)) send({ op: "tx", id: conv.id, d: toBase64(chunk) });
            if (st.closed) send({ op: "close", id: conv.id });
          } else if (e.ev === "rx") {
            st.out.push(fromBase64(e.d));
            flush(socket);
          } else {
            conv.close();
            st.ended = true;
            flush(socket);
          }
        });
        st.conv = { id: conv.id, send };
        send({ op: "dial", id: conv.id, port });
      },
      data: (socket, data) => {
        const st = socket.data;
        if (!st.conv) return;
        if (st.ready) st.conv.send({ op: "tx", id: st.conv.id, d: toBase64(data) });
        else st.pending.push(new Uint8Array(data));
      },
      drain: (socket) => flush(socket),
      // The client finished sending (half close): the sandbox side sees EOF but may still answer.
      end: (socket) => {
        const st = socket.data;
        if (st.ready && st.conv) st.conv.send({ op: "hangup", id: st.conv.id });
      },
      // The client is gone: the sandbox side's socket is closed too, so a streaming server there notices.
      close: (socket) => {
        const st = socket.data;
        if (!st || st.closed) return;
        st.closed = true;
        if (st.ready && st.conv) st.conv.send({ op: "close", id: st.conv.id });
      },
    },
  });
}
