// The live view end to end over a real port: noVNC served by Bunker, its WebSocket relayed to x11vnc behind a
// short-lived token, opened in headless Chromium (Debian's chromium driven by playwright-core).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createBunker, type Bunker } from "bunker/core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import sharp from "sharp";
import desktop from "./index";
import { eventually } from "../../test/support/eventually";

let bunker: Bunker;
let dir: string;
let browser: Browser;
let id: string;
const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
  fetch(`${bunker.baseUrl}/desktop${path}`, {
    method: init.method ?? "GET",
    headers: init.body === undefined ? {} : { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bunker-desktop-stream-"));
  bunker = await createBunker({
    builtins: false, plugins: [desktop], env: {},
    config: { dataDir: dir, log: { level: "silent" }, server: { host: "127.0.0.1", port: 0 }, plugins: { desktop: { backend: "local" } } },
  });
  await bunker.listen();
  const [created, launched] = await Promise.all([
    api("/desktops", { method: "POST", body: { screen_width: 800, screen_height: 600 } }).then((r) => r.json()),
    chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    }),
  ]);
  id = created.sandbox_id;
  browser = launched;
  await api(`/desktops/${id}/commands`, { method: "POST", body: { command: "xsetroot -solid '#22aa44'" } });
});

afterAll(async () => {
  await browser?.close();
  await bunker.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function centrePixel(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 4)) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

describe("live view through Bunker", () => {
  test("the viewer page shows the desktop in headless Chromium, view-only", async () => {
    const started = await api(`/desktops/${id}/streams`, { method: "POST", body: { view_only: true } });
    expect(started.status).toBe(201);
    const stream = await started.json();
    expect(stream.viewer_url).toContain(`/desktop/streams/${stream.stream_id}/view#token=`);
    expect(stream.viewer_url).not.toContain("password");
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    await page.goto(stream.viewer_url);
    await page.waitForSelector("body[data-state=connected]", { timeout: 15_000 });
    expect(page.url()).not.toContain("token");
    // The first frame arrives just after connect: wait until the desktop's green shows in the rendered canvas.
    let shot: Buffer = Buffer.alloc(0);
    const pixel = await eventually(async () => {
      shot = await page.screenshot();
      const p = await centrePixel(shot);
      return Math.abs(p[0]! - 0x22) < 10 && Math.abs(p[1]! - 0xaa) < 10 && Math.abs(p[2]! - 0x44) < 10 && p;
    }, "the desktop's background in the viewer").catch(async () => centrePixel(shot));
    await Bun.write(join(dir, "viewer.png"), shot); // kept while the test runs, for a look when it fails
    expect(pixel[1]).toBeGreaterThan(0x90);
    expect(pixel[0]).toBeLessThan(0x40);
    // The desktop's pointer is painted into the view: some pixels at its position are not the background.
    await api(`/desktops/${id}/mouse/move`, { method: "POST", body: { x: 600, y: 450 } });
    const pointerShown = async () => {
      const { data, info } = await sharp(await page.screenshot({ clip: { x: 590, y: 440, width: 30, height: 30 } })).raw().toBuffer({ resolveWithObject: true });
      for (let i = 0; i < data.length; i += info.channels) if (Math.abs(data[i + 1]! - 0xaa) > 40) return true;
      return false;
    };
    expect(await eventually(pointerShown, "the pointer in the viewer", 5_000)).toBe(true);
    // View-only: a click in the page does not move the desktop's pointer.
    const before = await (await api(`/desktops/${id}/mouse/cursor`)).json();
    await page.mouse.click(100, 100);
    // Nothing to wait for when nothing may happen: give a forwarded click the time it would take to arrive.
    await Bun.sleep(200);
    expect(await (await api(`/desktops/${id}/mouse/cursor`)).json()).toEqual(before);
    await page.close();
  }, 60_000);

  test("an interactive view moves the desktop's pointer", async () => {
    const stream = await (await api(`/desktops/${id}/streams`, { method: "POST", body: { view_only: false } })).json();
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    await page.goto(stream.viewer_url);
    await page.waitForSelector("body[data-state=connected]", { timeout: 15_000 });
    // The viewer forwards input once its RFB session is up: move until the desktop's pointer follows.
    let step = 0;
    const cursor = await eventually(async () => {
      await page.mouse.move(200 + (step % 2) * 10, 150 + (step++ % 2) * 10);
      const c = await (await api(`/desktops/${id}/mouse/cursor`)).json();
      return c.x > 150 && c.x < 260 && c;
    }, "the desktop's pointer to follow the viewer", 5_000);
    expect(cursor.x).toBeGreaterThan(150);
    expect(cursor.x).toBeLessThan(260);
    await page.close();
    const stopped = await api(`/desktops/${id}/streams/${stream.stream_id}`, { method: "DELETE" });
    expect(stopped.status).toBe(200);
  }, 60_000);

  test("the WebSocket refuses a missing or wrong token, and the page needs no API key", async () => {
    const stream = await (await api(`/desktops/${id}/streams`, { method: "POST", body: {} })).json();
    const wsUrl = `${bunker.baseUrl.replace("http", "ws")}/desktop/streams/${stream.stream_id}/ws`;
    const outcome = (url: string) => new Promise<string>((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => { resolve("open"); ws.close(); };
      ws.onerror = () => resolve("refused");
    });
    expect(await outcome(wsUrl)).toBe("refused");
    expect(await outcome(`${wsUrl}?token=forged`)).toBe("refused");
    expect(await outcome(`${wsUrl}?token=${stream.token}`)).toBe("open");
    const page = await fetch(`${bunker.baseUrl}/desktop/streams/${stream.stream_id}/view`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain(stream.token);
  });
});

function sharedMemorySegments() {
  return readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1)
    .map((line) => line.trim().split(/\s+/))
    .map((cols) => ({ id: cols[1]!, creator: cols[4]! }));
}

/** The segments created by the live x11vnc viewers of one desktop (their sockets sit in its framebuffer dir). */
function x11vncSharedMemory(desktopId: string) {
  const cmdline = (pid: string) => { try { return readFileSync(`/proc/${pid}/cmdline`, "utf8"); } catch { return ""; } };
  return sharedMemorySegments()
    .filter((s) => { const argv = cmdline(s.creator); return argv.startsWith("x11vnc") && argv.includes(`bunker-desktop-${desktopId.slice(0, 8)}`); })
    .map((s) => s.id);
}

describe("stream lifetime", () => {
  test("destroying the desktop closes its viewers", async () => {
    const other = await (await api("/desktops", { method: "POST", body: { screen_width: 320, screen_height: 240 } })).json();
    const stream = await (await api(`/desktops/${other.sandbox_id}/streams`, { method: "POST", body: {} })).json();
    const ws = new WebSocket(`${bunker.baseUrl.replace("http", "ws")}/desktop/streams/${stream.stream_id}/ws?token=${stream.token}`);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    const closed = new Promise<number>((resolve) => { ws.onclose = (e) => resolve(e.code); });
    const viewerSegments = x11vncSharedMemory(other.sandbox_id);
    expect(viewerSegments.length).toBeGreaterThan(0);
    expect((await api(`/desktops/${other.sandbox_id}`, { method: "DELETE" })).status).toBe(200);
    expect(await closed).toBe(1000);
    // A viewer killed outright leaks its SysV segments until the kernel's limit breaks every later viewer.
    const left = new Set(sharedMemorySegments().map((s) => s.id));
    expect(viewerSegments.filter((id) => left.has(id))).toEqual([]);
  });

  test("a token stops opening connections once it expires", async () => {
    const shortDir = mkdtempSync(join(tmpdir(), "bunker-desktop-ttl-"));
    const short = await createBunker({
      builtins: false, plugins: [desktop], env: {},
      config: { dataDir: shortDir, log: { level: "silent" }, server: { host: "127.0.0.1", port: 0 }, plugins: { desktop: { backend: "local", streamTokenTtlSeconds: 1 } } },
    });
    try {
      await short.listen();
      const post = (path: string, body: unknown) =>
        fetch(`${short.baseUrl}/desktop${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json());
      const d = await post("/desktops", { screen_width: 320, screen_height: 240 });
      const stream = await post(`/desktops/${d.sandbox_id}/streams`, {});
      const url = `${short.baseUrl.replace("http", "ws")}/desktop/streams/${stream.stream_id}/ws?token=${stream.token}`;
      const opens = () => new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => { resolve(true); ws.close(); };
        ws.onerror = () => resolve(false);
      });
      expect(await opens()).toBe(true);
      expect(await eventually(async () => !(await opens()), "the token to expire", 5_000)).toBe(true);
    } finally {
      await short.stop();
      rmSync(shortDir, { recursive: true, force: true });
    }
  });
});
