// Live views: each stream is one VNC server on a unix socket (local) or a remote viewer URL (E2B). Viewers reach a
// local stream only through Bunker's WebSocket proxy, with a short-lived token; no VNC password exists anywhere.
import { randomBytes } from "node:crypto";
import type { StreamEndpoint } from "./drivers/types";
import { authenticationError, errors } from "./errors";
import type { DesktopService } from "./service";

export interface LiveStream {
  id: string;
  desktopId: string;
  owner: string;
  windowId: string | null;
  viewOnly: boolean;
  endpoint: StreamEndpoint;
}

export class StreamRegistry {
  private readonly streams = new Map<string, LiveStream>();
  private readonly tokens = new Map<string, { streamId: string; expiresAt: number }>();

  constructor(
    private readonly desktops: DesktopService,
    private readonly tokenTtlMs: number,
    private readonly viewerUrl: (streamId: string, token: string) => string,
  ) {}

  async start(owner: string, desktopId: string, options: { window_id?: string; view_only?: boolean }) {
    const viewOnly = options.view_only ?? true;
    const endpoint = await this.desktops.operate(owner, desktopId, "start stream", async (d) => {
      if (options.window_id) await d.handle.windowGeometry(options.window_id); // fails early on an unknown window
      return d.handle.startStream({ windowId: options.window_id, viewOnly });
    });
    const stream: LiveStream = { id: crypto.randomUUID(), desktopId, owner, windowId: options.window_id ?? null, viewOnly, endpoint };
    this.streams.set(stream.id, stream);
    return this.describe(stream);
  }

  private describe(stream: LiveStream) {
    const base = { stream_id: stream.id, sandbox_id: stream.desktopId, window_id: stream.windowId, view_only: stream.viewOnly };
    if (stream.endpoint.kind === "remote-url") {
      return { ...base, viewer_url: stream.endpoint.url, token: null, token_expires_at: null, auth_key: stream.endpoint.authKey };
    }
    const { token, expiresAt } = this.mint(stream.id);
    return { ...base, viewer_url: `${this.viewerUrl(stream.id, token)}${stream.viewOnly ? "" : "&interactive=1"}`, token, token_expires_at: new Date(expiresAt).toISOString(), auth_key: null };
  }

  /** A fresh token for an existing stream (the previous ones keep working until they expire). */
  refresh(owner: string, desktopId: string, streamId: string) {
    return this.describe(this.owned(owner, desktopId, streamId));
  }

  private mint(streamId: string) {
    const now = Date.now();
    for (const [t, v] of this.tokens) if (v.expiresAt < now) this.tokens.delete(t);
    const token = randomBytes(24).toString("base64url");
    const expiresAt = now + this.tokenTtlMs;
    this.tokens.set(token, { streamId, expiresAt });
    return { token, expiresAt };
  }

  private owned(owner: string, desktopId: string, streamId: string): LiveStream {
    this.desktops.find(owner, desktopId);
    const stream = this.streams.get(streamId);
    if (!stream || stream.desktopId !== desktopId) {
      throw errors.STREAM_NOT_FOUND(`stream ${streamId} not found`, { stream_id: streamId });
    }
    return stream;
  }

  list(owner: string, desktopId: string) {
    this.desktops.find(owner, desktopId);
    return [...this.streams.values()].filter((s) => s.desktopId === desktopId).map((s) => ({
      stream_id: s.id, sandbox_id: s.desktopId, window_id: s.windowId, view_only: s.viewOnly,
    }));
  }

  async stop(owner: string, desktopId: string, streamId: string) {
    await this.stopStream(this.owned(owner, desktopId, streamId));
  }

  private async stopStream(stream: LiveStream) {
    this.streams.delete(stream.id);
    for (const [t, v] of this.tokens) if (v.streamId === stream.id) this.tokens.delete(t);
    for (const close of this.viewers.get(stream.id) ?? []) close();
    this.viewers.delete(stream.id);
    await stream.endpoint.stop();
  }

  async stopForDesktop(desktopId: string) {
    await Promise.all([...this.streams.values()].filter((s) => s.desktopId === desktopId).map((s) => this.stopStream(s)));
  }


  /** Checks a viewer's token: valid, unexpired, for this stream. */
  authorize(streamId: string, token: string | undefined): LiveStream {
    const entry = token ? this.tokens.get(token) : undefined;
    if (!entry || entry.streamId !== streamId || entry.expiresAt < Date.now()) {
      throw authenticationError("the stream token is missing, expired or for another stream: start the stream again or refresh its token");
    }
    const stream = this.streams.get(streamId);
    if (!stream || stream.endpoint.kind !== "vnc-socket") throw authenticationError("the stream has ended");
    return stream;
  }

  private readonly viewers = new Map<string, Set<() => void>>();

  /** Remembers how to close a connected viewer when its stream stops. */
  attachViewer(streamId: string, close: () => void) {
    let set = this.viewers.get(streamId);
    if (!set) this.viewers.set(streamId, (set = new Set()));
    set.add(close);
    return () => set!.delete(close);
  }
}
