// The typed client against a real Bunker over a real port, on a real local desktop.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createBunker, type Bunker } from "bunker/core";
import { DesktopApiError, DesktopClient } from "bunker/desktop";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import desktop from "./index";

let bunker: Bunker;
let dir: string;
let client: DesktopClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bunker-desktop-client-"));
  bunker = await createBunker({
    builtins: false, plugins: [desktop], env: {},
    config: { dataDir: dir, log: { level: "silent" }, server: { host: "127.0.0.1", port: 0 }, plugins: { desktop: { backend: "local" } } },
  });
  await bunker.listen();
  const { key } = await bunker.keys.create("carol");
  client = new DesktopClient({ baseUrl: bunker.baseUrl, apiKey: key });
});

afterAll(async () => {
  await bunker.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("DesktopClient", () => {
  test("drives a desktop: create, act, screenshot, files, commands, stream, destroy", async () => {
    const info = await client.createDesktop({ screen_width: 640, screen_height: 480 });
    expect(info.user_id).toBe("carol");
    expect((await client.listDesktops()).map((d) => d.sandbox_id)).toEqual([info.sandbox_id]);
    expect(await client.moveMouse(info.sandbox_id, 30, 40)).toEqual({ x: 30, y: 40 });
    expect(await client.click(info.sandbox_id, 50, 60, { button: "left" })).toEqual({ x: 50, y: 60 });
    const shot = await client.screenshot(info.sandbox_id, { format: "webp", width: 320 });
    expect(shot).toMatchObject({ contentType: "image/webp", width: 320, height: 240 });
    await client.writeFile(info.sandbox_id, "hello.txt", "你好");
    expect(await client.readFile(info.sandbox_id, "/home/user/hello.txt")).toBe("你好");
    await client.writeFile(info.sandbox_id, "raw.bin", new Uint8Array([1, 2, 255]));
    expect([...(await client.readFileBytes(info.sandbox_id, "raw.bin"))]).toEqual([1, 2, 255]);
    expect(await client.runCommand(info.sandbox_id, "cat hello.txt")).toMatchObject({ exit_code: 0, stdout: "你好" });
    const stream = await client.startStream(info.sandbox_id, { view_only: true });
    expect(stream.viewer_url.startsWith(bunker.baseUrl)).toBe(true);
    const refreshed = await client.refreshStreamToken(info.sandbox_id, stream.stream_id);
    expect(refreshed.token).not.toBe(stream.token);
    await client.stopStream(info.sandbox_id, stream.stream_id);
    expect((await client.stats()).total_active_sandboxes).toBe(1);
    await client.destroyDesktop(info.sandbox_id);
    expect(await client.listDesktops()).toEqual([]);
  });

  test("errors arrive as DesktopApiError with the server's code and details", async () => {
    const error = await client.getDesktop("no-such-desktop").catch((e) => e);
    expect(error).toBeInstanceOf(DesktopApiError);
    expect(error).toMatchObject({ status: 404, code: "SANDBOX_NOT_FOUND" });
    const unauthorized = await new DesktopClient({ baseUrl: bunker.baseUrl, apiKey: "bk_wrong" }).listDesktops().catch((e) => e);
    expect(unauthorized).toMatchObject({ status: 401 });
  });
});
