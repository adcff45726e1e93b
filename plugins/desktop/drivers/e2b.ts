// The remote backend: the same operations mapped onto an E2B Desktop sandbox through @e2b/desktop.
import { AppLog, type AppInfo } from "./app-log";
import type { CommandResult, DesktopDriver, DesktopHandle, DesktopSpec, Frame, MouseButton, ScrollDirection, StreamEndpoint, WindowGeometry } from "./types";

/** The part of @e2b/desktop's Sandbox this backend uses (tests provide an in-process fake of it). */
export interface E2BSandboxLike {
  sandboxId: string;
  screenshot(): Promise<Uint8Array>;
  leftClick(x?: number, y?: number): Promise<void>;
  doubleClick(x?: number, y?: number): Promise<void>;
  rightClick(x?: number, y?: number): Promise<void>;
  middleClick(x?: number, y?: number): Promise<void>;
  moveMouse(x: number, y: number): Promise<void>;
  mousePress(button?: MouseButton): Promise<void>;
  mouseRelease(button?: MouseButton): Promise<void>;
  scroll(direction?: "up" | "down", amount?: number): Promise<void>;
  getCursorPosition(): Promise<{ x: number; y: number }>;
  write(text: string, options?: { chunkSize: number; delayInMs: number }): Promise<void>;
  press(key: string | string[]): Promise<void>;
  open(fileOrUrl: string): Promise<void>;
  launch(application: string, uri?: string): Promise<void>;
  getCurrentWindowId(): Promise<string>;
  getApplicationWindows(application: string): Promise<string[]>;
  getWindowTitle(windowId: string): Promise<string>;
  files: {
    read(path: string, opts: { format: "bytes" }): Promise<Uint8Array>;
    write(path: string, data: string | ArrayBuffer): Promise<unknown>;
  };
  commands: {
    run(cmd: string, opts?: { timeoutMs?: number; cwd?: string; envs?: Record<string, string> }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  };
  stream: {
    start(opts?: { windowId?: string; requireAuth?: boolean }): Promise<void>;
    getUrl(opts?: { autoConnect?: boolean; viewOnly?: boolean; resize?: "off" | "scale" | "remote"; authKey?: string }): string;
    getAuthKey(): string;
    stop(): Promise<void>;
  };
  kill(): Promise<boolean>;
}

export interface E2BCreateOptions {
  apiKey: string;
  domain?: string;
  resolution: [number, number];
  timeoutMs: number;
  envs: Record<string, string>;
  allowInternetAccess: boolean;
  metadata: Record<string, string>;
}

export interface E2BDesktopSdk {
  create(template: string, options: E2BCreateOptions): Promise<E2BSandboxLike>;
}

/** The real SDK, loaded only when the E2B backend is chosen. */
export async function realE2BSdk(): Promise<E2BDesktopSdk> {
  const { Sandbox } = await import("@e2b/desktop");
  return {
    create: async (template, options) => (await Sandbox.create(template, options)) as unknown as E2BSandboxLike,
  };
}

export class E2BDriver implements DesktopDriver {
  readonly kind = "e2b" as const;
  constructor(private readonly sdk: () => Promise<E2BDesktopSdk>, private readonly apiKey: string, private readonly domain?: string) {}

  async create(spec: DesktopSpec): Promise<DesktopHandle> {
    const sdk = await this.sdk();
    const sandbox = await sdk.create(spec.template, {
      apiKey: this.apiKey,
      domain: this.domain,
      resolution: [spec.width, spec.height],
      timeoutMs: spec.timeoutSeconds * 1000,
      envs: spec.environment,
      allowInternetAccess: spec.allowInternetAccess,
      metadata: { bunker_desktop_id: spec.id },
    });
    return new E2BDesktop(sandbox, spec);
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

class E2BDesktop implements DesktopHandle {
  readonly isolated = true;
  private readonly appLog = new AppLog();
  constructor(private readonly sandbox: E2BSandboxLike, private readonly spec: DesktopSpec) {}

  get width() { return this.spec.width; }
  get height() { return this.spec.height; }

  async frame(): Promise<Frame> {
    return { kind: "encoded", data: await this.sandbox.screenshot() };
  }

  async click(x: number, y: number, button: MouseButton, double: boolean) {
    if (double && button === "left") return this.sandbox.doubleClick(x, y);
    const once = button === "left" ? this.sandbox.leftClick : button === "right" ? this.sandbox.rightClick : this.sandbox.middleClick;
    await once.call(this.sandbox, x, y);
    if (double) await once.call(this.sandbox, x, y);
  }

  move(x: number, y: number) { return this.sandbox.moveMouse(x, y); }
  buttonDown(button: MouseButton) { return this.sandbox.mousePress(button); }
  buttonUp(button: MouseButton) { return this.sandbox.mouseRelease(button); }

  async scroll(direction: ScrollDirection, amount: number) {
    if (direction === "up" || direction === "down") return this.sandbox.scroll(direction, amount);
    // The SDK scrolls vertically only; horizontal wheel buttons are 6 and 7.
    await this.checked(`xdotool click --repeat ${amount} ${direction === "left" ? 6 : 7}`);
  }

  async drag(path: Array<[number, number]>, button: MouseButton) {
    const [first, ...rest] = path;
    await this.sandbox.moveMouse(first![0], first![1]);
    await this.sandbox.mousePress(button);
    for (const [x, y] of rest) await this.sandbox.moveMouse(x, y);
    await this.sandbox.mouseRelease(button);
  }

  cursor() { return this.sandbox.getCursorPosition(); }

  type(text: string, chunkSize: number, delayMs: number) {
    return this.sandbox.write(text, { chunkSize, delayInMs: delayMs });
  }

  press(keysyms: string[]) {
    return this.sandbox.press(keysyms.length === 1 ? keysyms[0]! : keysyms);
  }

  readFile(path: string) { return this.sandbox.files.read(path, { format: "bytes" }); }

  async writeFile(path: string, data: Uint8Array) {
    await this.sandbox.files.write(path, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
  }

  openFile(path: string) { return this.sandbox.open(path); }
  // E2B starts apps detached and reports nothing back: records say "unknown" instead of guessing.
  async launch(application: string, uri: string | undefined): Promise<AppInfo> {
    await this.sandbox.launch(application, uri);
    return this.appLog.addUnobserved(application, uri ? [application, uri] : [application]);
  }

  apps(): AppInfo[] {
    return this.appLog.list();
  }
  currentWindow() { return this.sandbox.getCurrentWindowId(); }
  applicationWindows(application: string) { return this.sandbox.getApplicationWindows(application); }
  windowTitle(windowId: string) { return this.sandbox.getWindowTitle(windowId); }

  async windowGeometry(windowId: string): Promise<WindowGeometry> {
    const out = await this.checked(`xwininfo -id ${quote(windowId)}`);
    const num = (label: string) => Number(new RegExp(`${label}:\\s+(-?\\d+)`).exec(out)?.[1] ?? NaN);
    return { x: num("Absolute upper-left X"), y: num("Absolute upper-left Y"), width: num("Width"), height: num("Height") };
  }

  private async checked(command: string) {
    const r = await this.run(command, 10_000);
    if (r.exit_code !== 0) throw new Error(`${command.split(" ")[0]} exited with ${r.exit_code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async run(command: string, timeoutMs: number): Promise<CommandResult> {
    try {
      const r = await this.sandbox.commands.run(command, { timeoutMs, cwd: this.spec.workingDirectory, envs: this.spec.environment });
      return { exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, timed_out: false };
    } catch (err) {
      const e = err as { name?: string; exitCode?: number; stdout?: string; stderr?: string };
      // The SDK throws CommandExitError for a non-zero exit and TimeoutError when the deadline passes.
      if (typeof e.exitCode === "number") return { exit_code: e.exitCode, stdout: e.stdout ?? "", stderr: e.stderr ?? "", timed_out: false };
      if (e.name === "TimeoutError") return { exit_code: 124, stdout: "", stderr: String((err as Error).message), timed_out: true };
      throw err;
    }
  }

  /** E2B serves its own noVNC page; the auth key is returned beside the URL, never inside it. */
  async startStream(options: { windowId?: string; viewOnly: boolean }): Promise<StreamEndpoint> {
    await this.sandbox.stream.start({ windowId: options.windowId, requireAuth: true });
    return {
      kind: "remote-url",
      url: this.sandbox.stream.getUrl({ autoConnect: true, viewOnly: options.viewOnly, resize: "scale" }),
      authKey: this.sandbox.stream.getAuthKey(),
      stop: () => this.sandbox.stream.stop(),
    };
  }

  async destroy() {
    await this.sandbox.kill();
  }
}
