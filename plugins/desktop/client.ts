// Typed client for the desktop plugin's routes (`import { DesktopClient } from "bunker/desktop"`). Types only are
// imported from the schema, so the client pulls in no server code.
import type { Static } from "@sinclair/typebox";
import type * as S from "./schema";
import type { AppInfo } from "./drivers/app-log";
export type { AppInfo } from "./drivers/app-log";

export type CreateDesktopOptions = Static<typeof S.CreateDesktopBody>;
export type DesktopInfo = Static<typeof S.DesktopInfo>;
export type CommandResult = Static<typeof S.CommandResult>;
export type StreamInfo = Static<typeof S.StreamInfo>;
export type ScreenshotOptions = Static<typeof S.ScreenshotQuery>;
export type MouseButton = "left" | "right" | "middle";
export type ScrollDirection = "up" | "down" | "left" | "right";
export interface Point { x: number; y: number }
export interface Stats {
  scope: "all" | "user";
  backend: string;
  total_active_sandboxes: number;
  total_users: number;
  sandboxes_by_user: Record<string, number>;
  max_concurrent_sandboxes: number;
}

/** An error body from the server: `code` is one of SANDBOX_NOT_FOUND, QUOTA_EXCEEDED, INVALID_ARGUMENT, ... */
export class DesktopApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = "DesktopApiError";
  }
}

export interface DesktopClientOptions {
  /** The Bunker server, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  apiKey?: string;
  /** Where the plugin is mounted (default /desktop). */
  prefix?: string;
  fetch?: typeof fetch;
}

export class DesktopClient {
  private readonly root: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: DesktopClientOptions) {
    this.root = options.baseUrl.replace(/\/$/, "") + (options.prefix ?? "/desktop");
    this.fetchImpl = options.fetch ?? fetch;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.fetchImpl(this.root + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) {
      const text = await res.text();
      let error: { code?: string; message?: string; details?: Record<string, unknown> } = {};
      try {
        error = JSON.parse(text).error ?? {};
      } catch {
        // not a JSON error body
      }
      throw new DesktopApiError(res.status, error.code ?? `HTTP_${res.status}`, error.message ?? (text || res.statusText), error.details);
    }
    return res;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, body)).json()) as T;
  }

  private d(id: string, rest = "") {
    return `/desktops/${encodeURIComponent(id)}${rest}`;
  }

  // desktops
  createDesktop(options: CreateDesktopOptions = {}) { return this.call<DesktopInfo>("POST", "/desktops", options); }
  getDesktop(id: string) { return this.call<DesktopInfo>("GET", this.d(id)); }
  async listDesktops() { return (await this.call<{ desktops: DesktopInfo[] }>("GET", "/desktops")).desktops; }
  async destroyDesktop(id: string) { await this.call("DELETE", this.d(id)); }
  stats() { return this.call<Stats>("GET", "/stats"); }
  cleanup(target: { user_id?: string; all?: boolean } = {}) {
    return this.call<{ destroyed: number; sandbox_ids: string[] }>("POST", "/cleanup", target);
  }

  // mouse (results are the cursor position afterwards)
  async click(id: string, x?: number, y?: number, options: { button?: MouseButton; double?: boolean } = {}) {
    return (await this.call<{ cursor: Point }>("POST", this.d(id, "/mouse/click"), { x, y, ...options })).cursor;
  }
  async moveMouse(id: string, x: number, y: number) {
    return (await this.call<{ cursor: Point }>("POST", this.d(id, "/mouse/move"), { x, y })).cursor;
  }
  async drag(id: string, path: Point[], button: MouseButton = "left") {
    return (await this.call<{ cursor: Point }>("POST", this.d(id, "/mouse/drag"), { path, button })).cursor;
  }
  async scroll(id: string, direction: ScrollDirection, amount = 3) { await this.call("POST", this.d(id, "/mouse/scroll"), { direction, amount }); }
  async mouseDown(id: string, button: MouseButton = "left") { await this.call("POST", this.d(id, "/mouse/down"), { button }); }
  async mouseUp(id: string, button: MouseButton = "left") { await this.call("POST", this.d(id, "/mouse/up"), { button }); }
  cursorPosition(id: string) { return this.call<Point>("GET", this.d(id, "/mouse/cursor")); }

  // keyboard
  async typeText(id: string, text: string, options: { chunk_size?: number; delay_ms?: number } = {}) {
    await this.call("POST", this.d(id, "/keyboard/type"), { text, ...options });
  }
  async pressKey(id: string, key: string) { await this.call("POST", this.d(id, "/keyboard/press"), { key }); }
  async pressKeyCombination(id: string, keys: string[]) { await this.call("POST", this.d(id, "/keyboard/combination"), { keys }); }

  // screenshots
  async screenshot(id: string, options: ScreenshotOptions = {}): Promise<{ data: Uint8Array; contentType: string; width: number; height: number }> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options)) if (v !== undefined) query.set(k, String(v));
    const qs = query.size ? `?${query}` : "";
    const res = await this.send("GET", this.d(id, `/screenshot${qs}`));
    return {
      data: new Uint8Array(await res.arrayBuffer()),
      contentType: res.headers.get("content-type") ?? "",
      width: Number(res.headers.get("x-image-width")),
      height: Number(res.headers.get("x-image-height")),
    };
  }

  // files
  async readFile(id: string, path: string): Promise<string> {
    return (await this.call<{ content: string }>("GET", this.d(id, `/files?path=${encodeURIComponent(path)}`))).content;
  }
  async readFileBytes(id: string, path: string): Promise<Uint8Array> {
    const r = await this.call<{ content: string }>("GET", this.d(id, `/files?path=${encodeURIComponent(path)}&encoding=base64`));
    return new Uint8Array(Buffer.from(r.content, "base64"));
  }
  writeFile(id: string, path: string, content: string | Uint8Array) {
    const body = typeof content === "string"
      ? { path, content, encoding: "utf8" }
      : { path, content: Buffer.from(content).toString("base64"), encoding: "base64" };
    return this.call<{ path: string; size: number }>("PUT", this.d(id, "/files"), body);
  }
  async openFile(id: string, path: string) { await this.call("POST", this.d(id, "/files/open"), { path }); }

  // applications and windows
  /** Starts an app; rejects with APP_EXITED (and the app's output) when it fails within its first second. */
  async launchApplication(id: string, application: string, uri?: string) {
    return (await this.call<{ app: AppInfo }>("POST", this.d(id, "/apps/launch"), { application, uri })).app;
  }
  /** Apps started on the desktop, with state, exit code and their last lines of output. */
  async listApplications(id: string) { return (await this.call<{ apps: AppInfo[] }>("GET", this.d(id, "/apps"))).apps; }
  async getCurrentWindowId(id: string) { return (await this.call<{ window_id: string }>("GET", this.d(id, "/windows/current"))).window_id; }
  async getApplicationWindows(id: string, application: string) {
    return (await this.call<{ windows: string[] }>("GET", this.d(id, `/windows?application=${encodeURIComponent(application)}`))).windows;
  }
  async getWindowTitle(id: string, windowId: string) {
    return (await this.call<{ title: string }>("GET", this.d(id, `/windows/${encodeURIComponent(windowId)}/title`))).title;
  }

  // commands
  runCommand(id: string, command: string, timeoutSeconds = 30) {
    return this.call<CommandResult>("POST", this.d(id, "/commands"), { command, timeout_seconds: timeoutSeconds });
  }

  // live views
  startStream(id: string, options: { window_id?: string; view_only?: boolean } = {}) {
    return this.call<StreamInfo>("POST", this.d(id, "/streams"), options);
  }
  refreshStreamToken(id: string, streamId: string) { return this.call<StreamInfo>("POST", this.d(id, `/streams/${encodeURIComponent(streamId)}/token`)); }
  async stopStream(id: string, streamId: string) { await this.call("DELETE", this.d(id, `/streams/${encodeURIComponent(streamId)}`)); }
}
