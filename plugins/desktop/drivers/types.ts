// What a desktop backend (local Xvfb or remote E2B) offers the service; all coordinates are real screen pixels.
import type { AppInfo } from "./app-log";

export type MouseButton = "left" | "right" | "middle";
export type ScrollDirection = "up" | "down" | "left" | "right";

export interface DesktopSpec {
  id: string;
  template: string;
  width: number;
  height: number;
  cpuCount: number;
  memoryMb: number;
  timeoutSeconds: number;
  allowInternetAccess: boolean;
  environment: Record<string, string>;
  workingDirectory: string;
}

/** Pixels as raw RGB (local framebuffer) or an already encoded image (remote). */
export type Frame =
  | { kind: "raw"; data: Buffer; width: number; height: number; channels: 3; /** Hands the buffer back for reuse once encoded. */ release?: () => void }
  | { kind: "encoded"; data: Uint8Array };

export interface CommandResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  timed_out: boolean;
}

export interface WindowGeometry {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where a live view connects: a local VNC socket Bunker proxies to, or a remote viewer URL. */
export type StreamEndpoint =
  | { kind: "vnc-socket"; path: string; stop(): Promise<void> }
  | { kind: "remote-url"; url: string; authKey: string | null; stop(): Promise<void> };

export interface DesktopHandle {
  readonly width: number;
  readonly height: number;
  /** Whether untrusted processes of this desktop run inside the isolation service. */
  readonly isolated: boolean;
  /** The screen's pixels; with a region (real pixels, inside the screen) only that part, when the backend can. */
  frame(region?: { x: number; y: number; width: number; height: number }): Promise<Frame>;
  click(x: number, y: number, button: MouseButton, double: boolean): Promise<void>;
  move(x: number, y: number): Promise<void>;
  buttonDown(button: MouseButton): Promise<void>;
  buttonUp(button: MouseButton): Promise<void>;
  scroll(direction: ScrollDirection, amount: number): Promise<void>;
  drag(path: Array<[number, number]>, button: MouseButton): Promise<void>;
  cursor(): Promise<{ x: number; y: number }>;
  /** Types text; chunkSize characters at a time with delayMs per keystroke. */
  type(text: string, chunkSize: number, delayMs: number): Promise<void>;
  /** Presses keysyms together (one element: a single key). */
  press(keysyms: string[]): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  openFile(path: string): Promise<void>;
  /** Starts an app and waits up to graceMs for it to fail at once; resolves with its record (exited or running). */
  launch(application: string, uri: string | undefined, graceMs: number): Promise<AppInfo>;
  /** Apps started on this desktop (the window manager included), with their state and last output. */
  apps(): AppInfo[];
  currentWindow(): Promise<string>;
  applicationWindows(application: string): Promise<string[]>;
  windowTitle(windowId: string): Promise<string>;
  windowGeometry(windowId: string): Promise<WindowGeometry>;
  run(command: string, timeoutMs: number): Promise<CommandResult>;
  startStream(options: { windowId?: string; viewOnly: boolean }): Promise<StreamEndpoint>;
  /** Called once if the desktop dies on its own (its X server exits, say). */
  onLost?(callback: (reason: string) => void): void;
  destroy(): Promise<void>;
}

export interface DesktopDriver {
  readonly kind: "local" | "e2b";
  create(spec: DesktopSpec): Promise<DesktopHandle>;
}

/** A file path that leaves the desktop's home (the only directory a local desktop shares with Bunker). */
export class PathOutsideHome extends Error {}

export class ApplicationNotFound extends Error {
  constructor(readonly application: string) {
    super(`no application named ${application}`);
  }
}
