// The embedded backend: one Xvfb per desktop, openbox and apps in a sandbox, xdotool/xclip per operation, x11vnc
// for live views. Everything is started with argv arrays.
import type { IsolationService } from "bunker/core";
import { chownSync, existsSync, lstatSync, statSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Framebuffer } from "./framebuffer";
import { releaseDisplay, startXvfb } from "./xvfb";
import { writeOpenboxConfig } from "./openbox";
import { runTool, stopGracefully, waitFor } from "./process";
import { DesktopSandbox, SANDBOX_HOME, type SpawnedProcess } from "./sandbox";
import { AppLog, settleLaunch, type AppInfo } from "./app-log";
import { ApplicationNotFound, PathOutsideHome, type CommandResult, type DesktopDriver, type DesktopHandle, type DesktopSpec, type Frame, type MouseButton, type ScrollDirection, type StreamEndpoint, type WindowGeometry } from "./types";

const BUTTONS: Record<MouseButton, string> = { left: "1", middle: "2", right: "3" };
const WHEEL: Record<ScrollDirection, string> = { up: "4", down: "5", left: "6", right: "7" };

export interface LocalDriverOptions {
  /** Where per-desktop homes live. */
  dataDir: string;
  /** Resolved at use time: the liteboxd plugin may load after this one. */
  isolation: () => IsolationService | undefined;
  readyTimeoutMs?: number;
}

export class LocalDriver implements DesktopDriver {
  readonly kind = "local" as const;
  constructor(private readonly options: LocalDriverOptions) {}

  async create(spec: DesktopSpec): Promise<DesktopHandle> {
    const root = join(this.options.dataDir, "desktops", spec.id);
    const home = join(root, "home");
    mkdirSync(home, { recursive: true });
    const shm = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
    const fbDir = mkdtempSync(join(shm, `bunker-desktop-${spec.id.slice(0, 8)}-`));
    const { xvfb, display } = await startXvfb(spec, fbDir, this.options.readyTimeoutMs ?? 10_000).catch((err) => {
      rmSync(fbDir, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
      throw err;
    });
    const cleanup = async () => {
      await stopGracefully(xvfb);
      releaseDisplay(display);
      rmSync(fbDir, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    };
    try {
      writeOpenboxConfig(home);
      mkdirSync(join(home, spec.workingDirectory.slice(SANDBOX_HOME.length)), { recursive: true });
      const isolation = this.options.isolation();
      const sandbox = new DesktopSandbox(
        {
          homeHost: home, display, socketHost: `/tmp/.X11-unix/X${display}`, env: spec.environment,
          workingDirectory: spec.workingDirectory, network: spec.allowInternetAccess, memoryMb: spec.memoryMb, cpus: spec.cpuCount,
        },
        isolation,
      );
      const desktop = new LocalDesktop(spec, display, xvfb, fbDir, root, sandbox);
      await desktop.startWindowManager(this.options.readyTimeoutMs ?? 10_000);
      return desktop;
    } catch (err) {
      await cleanup();
      throw err;
    }
  }
}

class LocalDesktop implements DesktopHandle {
  private readonly framebuffer: Framebuffer;
  private readonly processes = new Set<SpawnedProcess>();
  private readonly appLog = new AppLog();
  private readonly streams = new Set<Bun.Subprocess>();
  private readonly env: Record<string, string>;
  private destroyed = false;

  constructor(
    private readonly spec: DesktopSpec,
    readonly display: number,
    private readonly xvfb: Bun.Subprocess,
    private readonly fbDir: string,
    private readonly root: string,
    private readonly sandbox: DesktopSandbox,
  ) {
    this.framebuffer = new Framebuffer(join(fbDir, "Xvfb_screen0"));
    this.env = { DISPLAY: `:${display}`, LANG: "C.UTF-8" };
  }

  get width() { return this.spec.width; }
  get height() { return this.spec.height; }
  get isolated() { return this.sandbox.isolated; }

  async startWindowManager(timeoutMs: number) {
    this.track("openbox", ["openbox"]);
    await waitFor(async () => {
      const r = await runTool(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], { env: this.env, allowFailure: true });
      return r.stdout.includes("window id");
    }, timeoutMs, "the window manager");
  }

  /** Starts a long-running program of this desktop; it is killed with the desktop and its output is logged. */
  private track(application: string, argv: string[]) {
    const proc = this.sandbox.spawn(argv);
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return this.appLog.add(application, argv, proc);
  }

  private xdotool(...args: string[]) {
    return runTool(["xdotool", ...args], { env: this.env });
  }

  async frame(region?: { x: number; y: number; width: number; height: number }): Promise<Frame> {
    return this.framebuffer.read(region);
  }

  // No `mousemove --sync` (it never returns when the pointer is already at the target) and no `click` (it takes
  // ~100 ms here): mousedown/mouseup do the same in ~3 ms.
  async click(x: number, y: number, button: MouseButton, double: boolean) {
    const b = BUTTONS[button];
    const once = ["mousedown", b, "mouseup", b];
    await this.xdotool("mousemove", String(x), String(y), ...once, ...(double ? ["sleep", "0.04", ...once] : []));
  }

  async move(x: number, y: number) {
    await this.xdotool("mousemove", String(x), String(y));
  }

  async buttonDown(button: MouseButton) {
    await this.xdotool("mousedown", BUTTONS[button]);
  }

  async buttonUp(button: MouseButton) {
    await this.xdotool("mouseup", BUTTONS[button]);
  }

  async scroll(direction: ScrollDirection, amount: number) {
    const w = WHEEL[direction];
    const steps: string[] = [];
    for (let i = 0; i < amount; i++) steps.push("mousedown", w, "mouseup", w);
    await this.xdotool(...steps);
  }

  /** Presses at the first point, moves through the rest in small steps (window managers need motion), releases. */
  async drag(path: Array<[number, number]>, button: MouseButton) {
    const [first, ...rest] = path;
    const args = ["mousemove", String(first![0]), String(first![1]), "mousedown", BUTTONS[button]];
    let [px, py] = first!;
    for (const [x, y] of rest) {
      const steps = Math.max(1, Math.min(10, Math.ceil(Math.hypot(x - px, y - py) / 20)));
      for (let i = 1; i <= steps; i++) {
        args.push("sleep", "0.01", "mousemove", String(Math.round(px + ((x - px) * i) / steps)), String(Math.round(py + ((y - py) * i) / steps)));
      }
      [px, py] = [x, y];
    }
    args.push("sleep", "0.03", "mouseup", BUTTONS[button]);
    await this.xdotool(...args);
  }

  async cursor() {
    const r = await this.xdotool("getmouselocation", "--shell");
    const x = /X=(\d+)/.exec(r.stdout);
    const y = /Y=(\d+)/.exec(r.stdout);
    return { x: Number(x?.[1] ?? 0), y: Number(y?.[1] ?? 0) };
  }

  /** ASCII goes through `xdotool type`; anything else is pasted from the selections (xterm reads PRIMARY, GTK/Chromium CLIPBOARD). */
  async type(text: string, chunkSize: number, delayMs: number) {
    for (const run of splitAsciiRuns(text)) {
      if (run.ascii) {
        for (let i = 0; i < run.text.length; i += chunkSize) {
          await this.xdotool("type", "--delay", String(delayMs), "--", run.text.slice(i, i + chunkSize));
        }
      } else {
        await this.paste(run.text);
      }
    }
  }

  private async paste(text: string) {
    for (const selection of ["primary", "clipboard"]) {
      await runTool(["xclip", "-selection", selection, "-in"], { env: this.env, input: text, daemonizes: true });
      // xclip forks to serve the selection; wait until it owns it before pasting.
      await waitFor(async () => {
        const r = await runTool(["xclip", "-selection", selection, "-out"], { env: this.env, allowFailure: true });
        return r.stdout === text;
      }, 3_000, `the ${selection} selection`);
    }
    await this.xdotool("key", "shift+Insert");
  }

  async press(keysyms: string[]) {
    await this.xdotool("key", keysyms.join("+"));
  }

  /** Resolves a path under /home/user to the host, refusing anything (symlinks included) that leaves the home. */
  private resolveHome(sandboxPath: string, forWrite: boolean): string {
    if (sandboxPath !== SANDBOX_HOME && !sandboxPath.startsWith(SANDBOX_HOME + "/")) {
      throw new PathOutsideHome(`${sandboxPath} is outside ${SANDBOX_HOME}, the only directory a local desktop shares with Bunker`);
    }
    const hostPath = this.sandbox.hostPath(sandboxPath);
    const home = realpathSync(this.sandbox.hostPath(SANDBOX_HOME));
    const check = (p: string) => {
      const real = realpathSync(p);
      if (real !== home && !real.startsWith(home + "/")) throw new PathOutsideHome(`${sandboxPath} leads outside ${SANDBOX_HOME}`);
    };
    if (forWrite) {
      mkdirSync(dirname(hostPath), { recursive: true });
      check(dirname(hostPath));
      if (existsSync(hostPath) && lstatSync(hostPath).isSymbolicLink()) check(hostPath);
    } else {
      check(hostPath);
    }
    return hostPath;
  }

  async readFile(path: string) {
    return new Uint8Array(readFileSync(this.resolveHome(path, false)));
  }

  async writeFile(path: string, data: Uint8Array) {
    const hostPath = this.resolveHome(path, true);
    writeFileSync(hostPath, data);
    // The sandbox runs as the home's owner (an unprivileged uid under isolation): give it what we wrote.
    const home = this.sandbox.hostPath(SANDBOX_HOME);
    const { uid, gid } = statSync(home);
    for (let p = hostPath; p.startsWith(home + "/"); p = dirname(p)) {
      const st = lstatSync(p);
      if (st.uid !== uid || st.gid !== gid) chownSync(p, uid, gid);
    }
  }

  async openFile(path: string) {
    this.resolveHome(path, false);
    this.track("xdg-open", ["xdg-open", this.sandbox.isolated ? path : this.sandbox.hostPath(path)]);
  }

  async launch(application: string, uri: string | undefined, graceMs: number): Promise<AppInfo> {
    const argv = resolveApplication(application);
    if (!argv) throw new ApplicationNotFound(application);
    return settleLaunch(this.track(application, uri ? [...argv, uri] : argv), graceMs);
  }

  apps(): AppInfo[] {
    return this.appLog.list();
  }

  async currentWindow() {
    return (await this.xdotool("getactivewindow")).stdout.trim();
  }

  async applicationWindows(application: string) {
    const r = await runTool(["xdotool", "search", "--onlyvisible", "--class", application], { env: this.env, allowFailure: true });
    return r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
  }

  async windowTitle(windowId: string) {
    return (await this.xdotool("getwindowname", windowId)).stdout.replace(/\n$/, "");
  }

  async windowGeometry(windowId: string): Promise<WindowGeometry> {
    const r = await runTool(["xwininfo", "-id", windowId], { env: this.env });
    const num = (label: string) => Number(new RegExp(`${label}:\\s+(-?\\d+)`).exec(r.stdout)?.[1] ?? NaN);
    return { x: num("Absolute upper-left X"), y: num("Absolute upper-left Y"), width: num("Width"), height: num("Height") };
  }

  run(command: string, timeoutMs: number): Promise<CommandResult> {
    return this.sandbox.run(command, timeoutMs);
  }

  /** One x11vnc per view, on a unix socket only Bunker reaches (no TCP port). */
  async startStream(options: { windowId?: string; viewOnly: boolean }): Promise<StreamEndpoint> {
    // In the short /dev/shm directory: unix socket paths are limited to 107 bytes.
    const socket = join(this.fbDir, `vnc-${crypto.randomUUID().slice(0, 8)}.sock`);
    const argv = ["x11vnc", "-display", `:${this.display}`, "-unixsock", socket, "-rfbport", "0", "-forever", "-shared",
      "-nopw", "-quiet", "-noxdamage", "-nobell",
      // Paint the pointer into the frames so every viewer sees it, view-only ones included (not a client-side shape).
      "-cursor", "arrow", "-nocursorshape", "-nocursorpos"];
    if (options.viewOnly) argv.push("-viewonly");
    if (sharedMemoryScarce()) argv.push("-noshm");
    if (options.windowId) argv.push("-id", options.windowId);
    const proc = Bun.spawn(argv, { env: { ...process.env, ...this.env }, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    this.streams.add(proc);
    const stop = async () => {
      this.streams.delete(proc);
      await stopGracefully(proc);
      rmSync(socket, { force: true });
    };
    try {
      await waitFor(() => (proc.exitCode !== null || proc.signalCode !== null ? Promise.reject(new Error("x11vnc exited")) : existsSync(socket)), 10_000, "x11vnc");
    } catch (err) {
      const stderr = await new Response(proc.stderr).text().catch(() => "");
      await stop();
      throw new Error(`${(err as Error).message}: ${stderr.trim().split("\n").slice(-3).join(" ")}`);
    }
    void proc.stderr.cancel().catch(() => undefined);
    return { kind: "vnc-socket", path: socket, stop };
  }

  onLost(callback: (reason: string) => void) {
    void this.xvfb.exited.then((code) => {
      if (!this.destroyed) callback(`its X server exited (${code})`);
    });
  }

  async destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.processes) p.kill();
    // Viewers first: an x11vnc that loses its X server mid-frame may not get to free its shared memory.
    await Promise.all([...this.streams].map(stopGracefully));
    await stopGracefully(this.xvfb);
    releaseDisplay(this.display);
    rmSync(this.fbDir, { recursive: true, force: true });
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** True when fewer SysV shared-memory segments are left than a viewer needs (x11vnc takes ~27, and some other
 * process may have leaked the rest): x11vnc then polls with plain XGetImage, slower but working, instead of dying. */
export function sharedMemoryScarce(): boolean {
  try {
    const limit = Number(readFileSync("/proc/sys/kernel/shmmni", "utf8"));
    const used = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").length - 1;
    return limit - used < 64;
  } catch {
    return false;
  }
}

/** An application is a desktop entry (its Exec line, field codes dropped) or a program on PATH. */
export function resolveApplication(name: string): string[] | null {
  for (const dir of ["/usr/share/applications", "/usr/local/share/applications"]) {
    const file = join(dir, `${name}.desktop`);
    if (!existsSync(file)) continue;
    const exec = /^Exec=(.*)$/m.exec(readFileSync(file, "utf8"))?.[1];
    if (!exec) continue;
    const argv = exec.split(/\s+/).filter((part) => part && !/^%[a-zA-Z]$/.test(part));
    if (argv[0] && Bun.which(argv[0])) return argv;
  }
  const path = Bun.which(name);
  return path ? [path] : null;
}

export function splitAsciiRuns(text: string): Array<{ ascii: boolean; text: string }> {
  const runs: Array<{ ascii: boolean; text: string }> = [];
  for (const ch of text) {
    const ascii = /^[\x20-\x7e\n\t]$/.test(ch);
    const last = runs[runs.length - 1];
    if (last && last.ascii === ascii) last.text += ch;
    else runs.push({ ascii, text: ch });
  }
  return runs;
}

