// The rules: ownership (another user's desktop is "not found"), quota, expiry, scaled coordinates, error codes.
import { BunkerError, type Logger } from "bunker/core";
import { posix } from "node:path";
import { SANDBOX_HOME } from "./drivers/sandbox";
import { ApplicationNotFound, PathOutsideHome, type DesktopDriver, type DesktopHandle, type DesktopSpec, type MouseButton, type ScrollDirection } from "./drivers/types";
import { appExited, errors, creationFailed, forbiddenFor, invalidArgument, operationFailed, quotaExceeded, sandboxNotFound } from "./errors";
import { encodeFrame, MIME, type ImageFormat, type Region } from "./image";
import { KEY_EXAMPLES, keysymOf } from "./keys";
import { chooseScaling, identityScaling, type Scaling } from "./scaling";
import type { DesktopStore } from "./store";

/** An app that exits with an error within this long of its launch makes the launch fail with its output. */
const APP_LAUNCH_GRACE_MS = 1000;

export interface DesktopDefaults {
  template: string;
  cpuCount: number;
  memoryMb: number;
  timeoutSeconds: number;
  screenWidth: number;
  screenHeight: number;
  allowInternetAccess: boolean;
}

export interface DesktopServiceOptions {
  driver: DesktopDriver;
  store: DesktopStore;
  log: Logger;
  defaults: DesktopDefaults;
  maxPerUser: number;
  admins: string[];
  /** Called when a desktop goes away, so its live views close. */
  onDestroyed?: (id: string) => Promise<void> | void;
}

export interface CreateRequest {
  template?: string;
  cpu_count?: number;
  memory_mb?: number;
  timeout_seconds?: number;
  allow_internet_access?: boolean;
  environment?: Record<string, string>;
  working_directory?: string;
  screen_width?: number;
  screen_height?: number;
  scaled?: boolean;
}

export interface LiveDesktop {
  id: string;
  owner: string;
  spec: DesktopSpec;
  status: "starting" | "running";
  handle: DesktopHandle | null;
  scaling: Scaling;
  createdAt: string;
  expiresAt: string;
  timer: ReturnType<typeof setTimeout> | null;
}

export class DesktopService {
  private readonly live = new Map<string, LiveDesktop>();

  constructor(private readonly options: DesktopServiceOptions) {}

  get backend() {
    return this.options.driver.kind;
  }

  async create(owner: string, request: CreateRequest) {
    const d = this.options.defaults;
    const current = this.ownedBy(owner).length;
    if (current >= this.options.maxPerUser) throw quotaExceeded(owner, current, this.options.maxPerUser);
    const workingDirectory = posix.resolve(SANDBOX_HOME, request.working_directory ?? SANDBOX_HOME);
    if (this.backend === "local" && workingDirectory !== SANDBOX_HOME && !workingDirectory.startsWith(SANDBOX_HOME + "/")) {
      throw invalidArgument(`working_directory must be under ${SANDBOX_HOME}`, { field: "working_directory", value: request.working_directory });
    }
    const spec: DesktopSpec = {
      id: crypto.randomUUID(),
      template: request.template ?? d.template,
      width: request.screen_width ?? d.screenWidth,
      height: request.screen_height ?? d.screenHeight,
      cpuCount: request.cpu_count ?? d.cpuCount,
      memoryMb: request.memory_mb ?? d.memoryMb,
      timeoutSeconds: request.timeout_seconds ?? d.timeoutSeconds,
      allowInternetAccess: request.allow_internet_access ?? d.allowInternetAccess,
      environment: request.environment ?? {},
      workingDirectory,
    };
    const now = new Date();
    const desktop: LiveDesktop = {
      id: spec.id, owner, spec, status: "starting", handle: null,
      scaling: request.scaled ? chooseScaling(spec.width, spec.height) : identityScaling(spec.width, spec.height),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + spec.timeoutSeconds * 1000).toISOString(),
      timer: null,
    };
    this.live.set(spec.id, desktop);
    try {
      desktop.handle = await this.options.driver.create(spec);
    } catch (err) {
      this.live.delete(spec.id);
      this.options.log.warn("desktop creation failed", { owner, error: (err as Error).message });
      throw err instanceof BunkerError ? err : creationFailed((err as Error).message, { backend: this.backend });
    }
    if (!this.live.has(spec.id)) {
      // Destroyed (cleanup, shutdown) while starting.
      await desktop.handle.destroy();
      throw creationFailed("the desktop was destroyed while it was starting");
    }
    desktop.status = "running";
    desktop.handle.onLost?.((reason) => {
      this.options.log.warn("desktop lost", { id: spec.id, reason });
      void this.destroyById(spec.id, reason);
    });
    desktop.timer = setTimeout(() => void this.destroyById(spec.id, "expired"), spec.timeoutSeconds * 1000);
    desktop.timer.unref?.();
    await this.options.store.insert({
      id: spec.id, owner, backend: this.backend, config: JSON.stringify(spec), created_at: desktop.createdAt, expires_at: desktop.expiresAt,
    });
    this.options.log.info("desktop created", { id: spec.id, owner, backend: this.backend, isolated: desktop.handle.isolated });
    return this.describe(desktop);
  }

  describe(desktop: LiveDesktop) {
    const s = desktop.spec;
    const handle = desktop.handle as (DesktopHandle & { display?: number }) | null;
    return {
      sandbox_id: desktop.id,
      user_id: desktop.owner,
      backend: this.backend,
      template: s.template,
      status: desktop.status,
      cpu_count: s.cpuCount,
      memory_mb: s.memoryMb,
      timeout_seconds: s.timeoutSeconds,
      allow_internet_access: s.allowInternetAccess,
      working_directory: s.workingDirectory,
      screen: { width: s.width, height: s.height },
      scaled: desktop.scaling.name !== null,
      logical_screen: { width: desktop.scaling.width, height: desktop.scaling.height, name: desktop.scaling.name },
      isolated: handle?.isolated ?? false,
      display: handle?.display !== undefined ? `:${handle.display}` : null,
      created_at: desktop.createdAt,
      expires_at: desktop.expiresAt,
    };
  }

  private ownedBy(owner: string) {
    return [...this.live.values()].filter((d) => d.owner === owner);
  }

  /** The caller's running desktop; anyone else's is reported as not found. */
  find(owner: string, id: string): LiveDesktop & { handle: DesktopHandle } {
    const desktop = this.live.get(id);
    if (!desktop || desktop.owner !== owner || !desktop.handle || desktop.status !== "running") throw sandboxNotFound(id);
    return desktop as LiveDesktop & { handle: DesktopHandle };
  }

  info(owner: string, id: string) {
    return this.describe(this.find(owner, id));
  }

  list(owner: string) {
    return this.ownedBy(owner).map((d) => this.describe(d));
  }

  async destroy(owner: string, id: string) {
    this.find(owner, id);
    await this.destroyById(id, "destroyed by its owner");
  }

  async destroyById(id: string, reason: string) {
    const desktop = this.live.get(id);
    if (!desktop) return;
    this.live.delete(id);
    if (desktop.timer) clearTimeout(desktop.timer);
    await this.options.onDestroyed?.(id);
    try {
      await desktop.handle?.destroy();
    } catch (err) {
      this.options.log.warn("desktop teardown failed", { id, error: (err as Error).message });
    }
    if (desktop.handle) await this.options.store.markDestroyed(id, reason);
    this.options.log.info("desktop destroyed", { id, owner: desktop.owner, reason });
  }

  activeCount() {
    return this.live.size;
  }

  isAdmin(userId: string) {
    return this.options.admins.includes(userId);
  }

  stats(requester: string) {
    const all = [...this.live.values()];
    const visible = this.isAdmin(requester) ? all : all.filter((d) => d.owner === requester);
    const byUser: Record<string, number> = {};
    for (const d of visible) byUser[d.owner] = (byUser[d.owner] ?? 0) + 1;
    return {
      scope: this.isAdmin(requester) ? "all" : "user",
      backend: this.backend,
      total_active_sandboxes: visible.length,
      total_users: Object.keys(byUser).length,
      sandboxes_by_user: byUser,
      max_concurrent_sandboxes: this.options.maxPerUser,
    };
  }

  async cleanup(requester: string, target: { user_id?: string; all?: boolean }) {
    const user = target.user_id ?? requester;
    if ((target.all || user !== requester) && !this.isAdmin(requester)) {
      throw forbiddenFor("only admins (plugins.desktop.admins) may clean up other users' desktops");
    }
    const ids = [...this.live.values()].filter((d) => target.all || d.owner === user).map((d) => d.id);
    await Promise.all(ids.map((id) => this.destroyById(id, target.all ? "cleanup of all desktops" : `cleanup of ${user}'s desktops`)));
    return { destroyed: ids.length, sandbox_ids: ids };
  }

  async shutdown() {
    await Promise.all([...this.live.keys()].map((id) => this.destroyById(id, "server stopped")));
  }

  /** Runs an operation on the caller's desktop, turning backend failures into OPERATION_FAILED with a reason. */
  async operate<T>(owner: string, id: string, operation: string, fn: (desktop: LiveDesktop & { handle: DesktopHandle }) => Promise<T>): Promise<T> {
    const desktop = this.find(owner, id);
    try {
      return await fn(desktop);
    } catch (err) {
      if (err instanceof BunkerError) throw err;
      if (err instanceof PathOutsideHome) throw invalidArgument(err.message, { hint: `use a path under ${SANDBOX_HOME}` });
      if (err instanceof ApplicationNotFound) {
        throw invalidArgument(err.message, { application: err.application, hint: "give a desktop entry name or a program on PATH" });
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw errors.FILE_NOT_FOUND(`${operation}: no such file`, { operation });
      if (code === "EISDIR") throw invalidArgument(`${operation}: the path is a directory`);
      throw operationFailed(operation, (err as Error).message, { sandbox_id: id });
    }
  }

  // --- mouse (coordinates arrive in the caller's space: logical when scaled) ---

  click(owner: string, id: string, x: number | undefined, y: number | undefined, button: MouseButton, double: boolean) {
    return this.operate(owner, id, "click", async (d) => {
      if ((x === undefined) !== (y === undefined)) throw invalidArgument("give both x and y, or neither to click at the cursor");
      let target = x !== undefined && y !== undefined ? d.scaling.toReal(x, y) : await d.handle.cursor();
      target = clampToScreen(d, target);
      await d.handle.click(target.x, target.y, button, double);
      return this.cursorOf(d);
    });
  }

  move(owner: string, id: string, x: number, y: number) {
    return this.operate(owner, id, "move", async (d) => {
      const real = clampToScreen(d, d.scaling.toReal(x, y));
      await d.handle.move(real.x, real.y);
      return this.cursorOf(d);
    });
  }

  drag(owner: string, id: string, path: Array<{ x: number; y: number }>, button: MouseButton) {
    return this.operate(owner, id, "drag", async (d) => {
      const real = path.map((p) => clampToScreen(d, d.scaling.toReal(p.x, p.y))).map((p) => [p.x, p.y] as [number, number]);
      await d.handle.drag(real, button);
      return this.cursorOf(d);
    });
  }

  scroll(owner: string, id: string, direction: ScrollDirection, amount: number) {
    return this.operate(owner, id, "scroll", (d) => d.handle.scroll(direction, amount));
  }

  button(owner: string, id: string, button: MouseButton, down: boolean) {
    return this.operate(owner, id, down ? "mouse down" : "mouse up", (d) => (down ? d.handle.buttonDown(button) : d.handle.buttonUp(button)));
  }

  cursor(owner: string, id: string) {
    return this.operate(owner, id, "cursor position", (d) => this.cursorOf(d));
  }

  private async cursorOf(d: LiveDesktop & { handle: DesktopHandle }) {
    const real = await d.handle.cursor();
    return d.scaling.toLogical(real.x, real.y);
  }

  // --- keyboard ---

  type(owner: string, id: string, text: string, chunkSize: number, delayMs: number) {
    return this.operate(owner, id, "type", (d) => d.handle.type(text, chunkSize, delayMs));
  }

  press(owner: string, id: string, keys: string[]) {
    const keysyms = keys.map((key) => {
      const keysym = keysymOf(key);
      if (!keysym) throw invalidArgument(`unknown key "${key}"`, { key, examples: KEY_EXAMPLES });
      return keysym;
    });
    return this.operate(owner, id, "press", (d) => d.handle.press(keysyms));
  }

  // --- screenshots ---

  screenshot(owner: string, id: string, q: ScreenshotRequest) {
    return this.operate(owner, id, "screenshot", async (d) => {
      const { width: W, height: H } = d.spec;
      const fx = d.scaling.width / W;
      const fy = d.scaling.height / H;
      let crop: Region | undefined;
      if (q.window_id) {
        crop = await d.handle.windowGeometry(q.window_id);
      } else if (q.x !== undefined || q.y !== undefined || q.crop_width !== undefined || q.crop_height !== undefined) {
        const x = q.x ?? 0;
        const y = q.y ?? 0;
        const w = q.crop_width ?? d.scaling.width - x;
        const h = q.crop_height ?? d.scaling.height - y;
        crop = { x: Math.round(x / fx), y: Math.round(y / fy), width: Math.round(w / fx), height: Math.round(h / fy) };
      }
      if (crop) {
        const x0 = Math.max(0, crop.x);
        const y0 = Math.max(0, crop.y);
        const x1 = Math.min(W, crop.x + crop.width);
        const y1 = Math.min(H, crop.y + crop.height);
        if (x1 <= x0 || y1 <= y0) throw invalidArgument("the crop region lies outside the screen", { screen: d.scaling, region: q });
        crop = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
      }
      const baseW = crop?.width ?? W;
      const baseH = crop?.height ?? H;
      let width = q.width;
      let height = q.height;
      if (!width && !height) {
        const factor = q.scale ?? 1;
        if (factor !== 1 || fx !== 1 || fy !== 1) {
          width = Math.max(1, Math.round(baseW * fx * factor));
          height = Math.max(1, Math.round(baseH * fy * factor));
        }
      }
      const format = q.format ?? "png";
      // A backend that can read just the region (the local framebuffer) does the crop itself.
      const frame = await d.handle.frame(crop);
      const cropped = frame.kind === "raw" && crop !== undefined && frame.width === crop.width && frame.height === crop.height;
      const image = await encodeFrame(frame, { format, quality: q.quality, crop: cropped ? undefined : crop, width, height });
      if (frame.kind === "raw") frame.release?.();
      return { ...image, mime: MIME[format] };
    });
  }

  // --- files, apps, windows, commands ---

  resolvePath(d: LiveDesktop, path: string) {
    return posix.resolve(d.spec.workingDirectory, path);
  }

  readFile(owner: string, id: string, path: string) {
    return this.operate(owner, id, "read file", (d) => d.handle.readFile(this.resolvePath(d, path)));
  }

  writeFile(owner: string, id: string, path: string, data: Uint8Array) {
    return this.operate(owner, id, "write file", async (d) => {
      const resolved = this.resolvePath(d, path);
      await d.handle.writeFile(resolved, data);
      return { path: resolved, size: data.byteLength };
    });
  }

  openFile(owner: string, id: string, path: string) {
    return this.operate(owner, id, "open file", (d) => d.handle.openFile(this.resolvePath(d, path)));
  }

  launch(owner: string, id: string, application: string, uri?: string) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(application)) {
      throw invalidArgument("application must be a name (letters, digits, . _ + -), not a command line", { application });
    }
    return this.operate(owner, id, "launch", async (d) => {
      const app = await d.handle.launch(application, uri, APP_LAUNCH_GRACE_MS);
      if (app.state === "exited" && app.exit_code !== 0) throw appExited(app);
      return app;
    });
  }

  apps(owner: string, id: string) {
    return this.operate(owner, id, "list apps", async (d) => d.handle.apps());
  }

  currentWindow(owner: string, id: string) {
    return this.operate(owner, id, "current window", (d) => d.handle.currentWindow());
  }

  applicationWindows(owner: string, id: string, application: string) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+ -]*$/.test(application)) throw invalidArgument("application must be a plain name", { application });
    return this.operate(owner, id, "application windows", (d) => d.handle.applicationWindows(application));
  }

  windowTitle(owner: string, id: string, windowId: string) {
    return this.operate(owner, id, "window title", (d) => d.handle.windowTitle(windowId));
  }

  run(owner: string, id: string, command: string, timeoutSeconds: number) {
    return this.operate(owner, id, "run command", (d) => d.handle.run(command, Math.round(timeoutSeconds * 1000)));
  }
}

export interface ScreenshotRequest {
  format?: ImageFormat;
  quality?: number;
  width?: number;
  height?: number;
  scale?: number;
  x?: number;
  y?: number;
  crop_width?: number;
  crop_height?: number;
  window_id?: string;
}

function clampToScreen(d: LiveDesktop, p: { x: number; y: number }) {
  return { x: Math.max(0, Math.min(d.spec.width - 1, p.x)), y: Math.max(0, Math.min(d.spec.height - 1, p.y)) };
}
