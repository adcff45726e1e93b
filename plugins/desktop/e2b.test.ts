// The E2B backend maps every operation onto @e2b/desktop. E2B cannot be reached from CI, so these tests run
// against an in-process fake of the @e2b/desktop Sandbox surface (drivers/e2b.ts's E2BSandboxLike).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import type { E2BCreateOptions, E2BDesktopSdk, E2BSandboxLike } from "./drivers/e2b";
import { createDesktopPlugin } from "./index";
import { startBunker, type TestBunker } from "./test-helpers";

class FakeE2BSandbox implements E2BSandboxLike {
  sandboxId = `fake-${crypto.randomUUID().slice(0, 8)}`;
  calls: Array<[string, ...unknown[]]> = [];
  cursorAt = { x: 0, y: 0 };
  stored = new Map<string, Uint8Array>();
  killed = false;
  streaming: { windowId?: string; requireAuth?: boolean } | null = null;

  constructor(readonly template: string, readonly options: E2BCreateOptions) {}

  private log(name: string, ...args: unknown[]) {
    this.calls.push([name, ...args]);
  }
  async screenshot() {
    const [width, height] = this.options.resolution;
    return new Uint8Array(await sharp({ create: { width, height, channels: 3, background: "#ff8800" } }).png().toBuffer());
  }
  async leftClick(x?: number, y?: number) { this.log("leftClick", x, y); if (x !== undefined) this.cursorAt = { x, y: y! }; }
  async doubleClick(x?: number, y?: number) { this.log("doubleClick", x, y); if (x !== undefined) this.cursorAt = { x, y: y! }; }
  async rightClick(x?: number, y?: number) { this.log("rightClick", x, y); if (x !== undefined) this.cursorAt = { x, y: y! }; }
  async middleClick(x?: number, y?: number) { this.log("middleClick", x, y); if (x !== undefined) this.cursorAt = { x, y: y! }; }
  async moveMouse(x: number, y: number) { this.log("moveMouse", x, y); this.cursorAt = { x, y }; }
  async mousePress(button?: string) { this.log("mousePress", button); }
  async mouseRelease(button?: string) { this.log("mouseRelease", button); }
  async scroll(direction?: string, amount?: number) { this.log("scroll", direction, amount); }
  async getCursorPosition() { return this.cursorAt; }
  async write(text: string, options?: { chunkSize: number; delayInMs: number }) { this.log("write", text, options); }
  async press(key: string | string[]) { this.log("press", key); }
  async open(path: string) { this.log("open", path); }
  async launch(app: string, uri?: string) { this.log("launch", app, uri); }
  async getCurrentWindowId() { return "4194316"; }
  async getApplicationWindows(app: string) { return app === "firefox" ? ["4194316"] : []; }
  async getWindowTitle(id: string) { return `Window ${id}`; }
  files = {
    read: async (path: string) => {
      const data = this.stored.get(path);
      if (!data) throw Object.assign(new Error(`file not found: ${path}`), { name: "NotFoundError" });
      return data;
    },
    write: async (path: string, data: string | ArrayBuffer) => {
      this.stored.set(path, typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data));
      return { path };
    },
  };
  commands = {
    run: async (cmd: string, opts?: { timeoutMs?: number; cwd?: string; envs?: Record<string, string> }) => {
      this.log("run", cmd, opts);
      if (cmd === "sleep 100") throw Object.assign(new Error("deadline exceeded"), { name: "TimeoutError" });
      if (cmd.startsWith("exit ")) throw Object.assign(new Error("exit"), { exitCode: Number(cmd.slice(5)), stdout: "", stderr: "failed\n" });
      if (cmd.startsWith("xwininfo")) return { exitCode: 0, stdout: "  Absolute upper-left X:  10\n  Absolute upper-left Y:  20\n  Width: 300\n  Height: 200\n", stderr: "" };
      return { exitCode: 0, stdout: `ran: ${cmd}\n`, stderr: "" };
    },
  };
  stream = {
    start: async (opts?: { windowId?: string; requireAuth?: boolean }) => { this.streaming = opts ?? {}; },
    getUrl: (opts?: { autoConnect?: boolean; viewOnly?: boolean; authKey?: string }) =>
      `https://6080-${this.sandboxId}.e2b.app/vnc.html?autoconnect=${opts?.autoConnect}&view_only=${opts?.viewOnly}${opts?.authKey ? `&password=${opts.authKey}` : ""}`,
    getAuthKey: () => "secret-auth-key",
    stop: async () => { this.streaming = null; },
  };
  async kill() { this.killed = true; return true; }
}

const sandboxes: FakeE2BSandbox[] = [];
const fakeSdk: E2BDesktopSdk = {
  async create(template, options) {
    const sandbox = new FakeE2BSandbox(template, options);
    sandboxes.push(sandbox);
    return sandbox;
  },
};

let b: TestBunker;
let id: string;
let fake: FakeE2BSandbox;

beforeAll(async () => {
  b = await startBunker({ backend: "auto", e2bApiKey: "e2b_test_key" }, createDesktopPlugin({ e2bSdk: fakeSdk }));
  const r = await b.json("POST", "/desktops", {
    template: "desktop", screen_width: 1024, screen_height: 768, timeout_seconds: 120,
    environment: { GREETING: "hi" }, allow_internet_access: true, scaled: true,
  });
  expect(r.status).toBe(201);
  id = r.body.sandbox_id;
  fake = sandboxes.at(-1)!;
});

afterAll(async () => {
  await b.close();
});

describe("the E2B backend against an in-process fake of @e2b/desktop", () => {
  test("creating a desktop passes the API key, resolution, timeout, environment and network choice", () => {
    expect(fake.template).toBe("desktop");
    expect(fake.options).toMatchObject({
      apiKey: "e2b_test_key", resolution: [1024, 768], timeoutMs: 120_000, envs: { GREETING: "hi" }, allowInternetAccess: true,
    });
  });

  test("mouse operations map onto the SDK, with scaled coordinates mapped back to real pixels", async () => {
    // 1024x768 is XGA already: scaled mode leaves coordinates as they are.
    const click = await b.json("POST", `/desktops/${id}/mouse/click`, { x: 100, y: 200, button: "right" });
    expect(click.body.cursor).toEqual({ x: 100, y: 200 });
    await b.json("POST", `/desktops/${id}/mouse/click`, { x: 5, y: 6, double: true });
    await b.json("POST", `/desktops/${id}/mouse/drag`, { path: [{ x: 1, y: 2 }, { x: 30, y: 40 }, { x: 50, y: 60 }] });
    await b.json("POST", `/desktops/${id}/mouse/scroll`, { direction: "up", amount: 4 });
    await b.json("POST", `/desktops/${id}/mouse/scroll`, { direction: "left", amount: 2 });
    const names = fake.calls.map((c) => c[0]);
    expect(fake.calls).toContainEqual(["rightClick", 100, 200]);
    expect(fake.calls).toContainEqual(["doubleClick", 5, 6]);
    expect(names).toContain("mousePress");
    expect(fake.calls).toContainEqual(["moveMouse", 50, 60]);
    expect(fake.calls).toContainEqual(["scroll", "up", 4]);
    expect(fake.calls.some((c) => c[0] === "run" && String(c[1]).startsWith("xdotool click --repeat 2 6"))).toBe(true);
  });

  test("typing and keys reach the SDK with validated key names", async () => {
    await b.json("POST", `/desktops/${id}/keyboard/type`, { text: "你好 world", chunk_size: 5, delay_ms: 10 });
    expect(fake.calls).toContainEqual(["write", "你好 world", { chunkSize: 5, delayInMs: 10 }]);
    await b.json("POST", `/desktops/${id}/keyboard/combination`, { keys: ["ctrl", "c"] });
    expect(fake.calls).toContainEqual(["press", ["ctrl", "c"]]);
    const bad = await b.json("POST", `/desktops/${id}/keyboard/press`, { key: "rm -rf" });
    expect(bad.body.error.code).toBe("INVALID_ARGUMENT");
  });

  test("screenshots decode the SDK's PNG and re-encode, resize and crop it with sharp", async () => {
    const res = await b.call("GET", `/desktops/${id}/screenshot?format=jpeg&width=256`);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: "jpeg", width: 256, height: 192 });
    const win = await b.call("GET", `/desktops/${id}/screenshot?window_id=4194316`);
    expect(await sharp(Buffer.from(await win.arrayBuffer())).metadata()).toMatchObject({ width: 300, height: 200 });
  });

  test("files, apps, windows and commands map onto the SDK", async () => {
    await b.json("PUT", `/desktops/${id}/files`, { path: "/home/user/a.txt", content: "E2B!" });
    expect((await b.json("GET", `/desktops/${id}/files?path=/home/user/a.txt`)).body.content).toBe("E2B!");
    await b.json("POST", `/desktops/${id}/apps/launch`, { application: "firefox", uri: "https://example.com" });
    expect(fake.calls).toContainEqual(["launch", "firefox", "https://example.com"]);
    expect((await b.json("GET", `/desktops/${id}/windows?application=firefox`)).body.windows).toEqual(["4194316"]);
    expect((await b.json("GET", `/desktops/${id}/windows/4194316/title`)).body.title).toBe("Window 4194316");
    expect((await b.json("POST", `/desktops/${id}/commands`, { command: "ls" })).body).toEqual({ exit_code: 0, stdout: "ran: ls\n", stderr: "", timed_out: false });
    expect((await b.json("POST", `/desktops/${id}/commands`, { command: "exit 2" })).body).toMatchObject({ exit_code: 2, stderr: "failed\n" });
    expect((await b.json("POST", `/desktops/${id}/commands`, { command: "sleep 100", timeout_seconds: 1 })).body.timed_out).toBe(true);
  });

  test("a stream returns E2B's viewer URL with the auth key beside it, never inside it", async () => {
    const r = await b.json("POST", `/desktops/${id}/streams`, { view_only: true });
    expect(r.status).toBe(201);
    expect(r.body.auth_key).toBe("secret-auth-key");
    expect(r.body.viewer_url).not.toContain("secret-auth-key");
    expect(r.body.viewer_url).toContain("view_only=true");
    expect(fake.streaming).toEqual({ windowId: undefined, requireAuth: true });
  });

  test("destroying the desktop kills the E2B sandbox", async () => {
    expect((await b.json("DELETE", `/desktops/${id}`)).status).toBe(200);
    expect(fake.killed).toBe(true);
  });
});
