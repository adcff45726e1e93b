// The live view as Bunker serves it: noVNC's files from Debian's package, a small viewer page, and a WebSocket that
// relays RFB bytes to the desktop's x11vnc unix socket once the short-lived token checks out.
import { Elysia, notFound, t } from "bunker/core";
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { StreamRegistry } from "./streams";

export const NOVNC_DIR = "/usr/share/novnc";

/** The same page for every stream id, existing or not, so the public page tells nobody which streams exist. View-only
 * is enforced by the VNC server; the fragment's `interactive` only sets how the page presents itself. */
export function viewerPage(prefix: string, streamId: string): string {
  const novnc = `${prefix}/novnc`;
  const wsPath = `${prefix}/streams/${encodeURIComponent(streamId)}/ws`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Desktop view</title>
<style>html,body{margin:0;height:100%;background:#1e1e1e;overflow:hidden}#screen{width:100%;height:100%}
#status{position:fixed;top:4px;right:8px;font:12px sans-serif;color:#ccc;z-index:10}</style></head>
<body data-state="connecting"><div id="status">connecting…</div><div id="screen"></div>
<script type="module">
import RFB from ${JSON.stringify(novnc + "/core/rfb.js")};
const status = document.getElementById("status");
const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get("token") || "";
const viewOnly = fragment.get("interactive") !== "1";
history.replaceState(null, "", location.pathname); // the token leaves the address bar (and any bookmark)
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + ${JSON.stringify(wsPath)} + "?token=" + encodeURIComponent(token);
const rfb = new RFB(document.getElementById("screen"), url, { shared: true });
rfb.viewOnly = viewOnly;
rfb.scaleViewport = true;
rfb.showDotCursor = true;
rfb.addEventListener("connect", () => { status.textContent = viewOnly ? "view only" : "interactive"; document.body.dataset.state = "connected"; });
rfb.addEventListener("disconnect", (e) => { status.textContent = e.detail.clean ? "disconnected" : "connection lost"; document.body.dataset.state = "disconnected"; });
</script></body></html>`;
}

interface Relay {
  socket: Bun.Socket | null;
  pending: Uint8Array[];
  closed: boolean;
  detach: () => void;
}

/** Writes what fits and keeps the rest for the socket's drain event (Bun sockets can write partially). */
function flush(relay: Relay) {
  const socket = relay.socket;
  if (!socket) return;
  while (relay.pending.length) {
    const chunk = relay.pending[0]!;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      relay.pending[0] = chunk.subarray(Math.max(0, written));
      return;
    }
    relay.pending.shift();
  }
}

export function viewerRoutes(prefix: () => string, streams: StreamRegistry) {
  const relays = new Map<string, Relay>();
  return new Elysia()
    .get("/novnc/*", ({ params }) => {
      const wanted = join(NOVNC_DIR, params["*"]);
      if (!existsSync(wanted)) throw notFound(`no noVNC file ${params["*"]}`);
      const real = realpathSync(wanted);
      if (!real.startsWith(NOVNC_DIR + "/")) throw notFound(`no noVNC file ${params["*"]}`);
      return new Response(Bun.file(real), { headers: { "cache-control": "public, max-age=3600" } });
    })
    .get("/streams/:streamId/view", ({ params }) => {
      // The page itself holds no secret; the token travels in the URL fragment, which browsers never send.
      return new Response(viewerPage(prefix(), params.streamId), {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "referrer-policy": "no-referrer" },
      });
    }, { params: t.Object({ streamId: t.String() }) })
    .ws("/streams/:streamId/ws", {
      params: t.Object({ streamId: t.String() }),
      query: t.Object({ token: t.Optional(t.String()) }),
      beforeHandle({ params, query }) {
        streams.authorize(params.streamId, query.token);
      },
      async open(ws) {
        const stream = streams.authorize(ws.data.params.streamId, ws.data.query.token);
        const relay: Relay = { socket: null, pending: [], closed: false, detach: () => undefined };
        relays.set(ws.id, relay);
        relay.detach = streams.attachViewer(stream.id, () => ws.raw.close(1000, "stream stopped"));
        if (stream.endpoint.kind !== "vnc-socket") return ws.raw.close(1011, "not a local stream");
        try {
          relay.socket = await Bun.connect({
            unix: stream.endpoint.path,
            socket: {
              data: (_socket, data) => void ws.raw.sendBinary(data),
              drain: () => flush(relay),
              close: () => {
                if (!relay.closed) ws.raw.close(1000, "desktop closed the view");
              },
              error: () => ws.raw.close(1011, "desktop stream error"),
            },
          });
          if (relay.closed) relay.socket.end();
          else flush(relay);
        } catch {
          ws.raw.close(1011, "the desktop stream is not reachable");
        }
      },
      message(ws, message) {
        const relay = relays.get(ws.id);
        if (!relay) return;
        const bytes = typeof message === "string" ? new TextEncoder().encode(message) : new Uint8Array(message as ArrayBufferLike);
        relay.pending.push(bytes);
        flush(relay);
      },
      close(ws) {
        const relay = relays.get(ws.id);
        if (!relay) return;
        relays.delete(ws.id);
        relay.closed = true;
        relay.detach();
        relay.socket?.end();
      },
    });
}
