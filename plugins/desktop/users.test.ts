// Ownership, quota, expiry, stats and cleanup, with real API keys for two users; and scaled (computer-use) mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { eventually, startBunker, type TestBunker } from "./test-helpers";

describe("users, quota and expiry", () => {
  let b: TestBunker;
  let alice: string;
  let bob: string;
  let admin: string;
  let aliceDesktop: string;

  beforeAll(async () => {
    b = await startBunker({ maxConcurrentSandboxes: 1, admins: ["ops"], defaultScreenWidth: 640, defaultScreenHeight: 480 });
    alice = (await b.bunker.keys.create("alice")).key;
    bob = (await b.bunker.keys.create("bob")).key;
    admin = (await b.bunker.keys.create("ops")).key;
    const created = await b.json("POST", "/desktops", { template: "desktop" }, alice);
    expect(created.status).toBe(201);
    expect(created.body.user_id).toBe("alice");
    aliceDesktop = created.body.sandbox_id;
  });

  afterAll(async () => {
    await b.close();
  });

  test("a request without an API key is refused", async () => {
    expect((await b.call("GET", "/desktops")).status).toBe(401);
  });

  test("another user's desktop is not found, for reading, acting and destroying", async () => {
    for (const [method, path, body] of [
      ["GET", `/desktops/${aliceDesktop}`, undefined],
      ["POST", `/desktops/${aliceDesktop}/mouse/click`, { x: 1, y: 1 }],
      ["GET", `/desktops/${aliceDesktop}/screenshot`, undefined],
      ["POST", `/desktops/${aliceDesktop}/commands`, { command: "true" }],
      ["POST", `/desktops/${aliceDesktop}/streams`, {}],
      ["DELETE", `/desktops/${aliceDesktop}`, undefined],
    ] as const) {
      const r = await b.json(method, path, body, bob);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("SANDBOX_NOT_FOUND");
    }
    expect((await b.json("GET", "/desktops", undefined, bob)).body.desktops).toEqual([]);
    expect((await b.json("GET", "/desktops", undefined, alice)).body.desktops.map((d: { sandbox_id: string }) => d.sandbox_id)).toEqual([aliceDesktop]);
  });

  test("a second desktop over the quota is refused with the usage and the limit", async () => {
    const r = await b.json("POST", "/desktops", {}, alice);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("QUOTA_EXCEEDED");
    expect(r.body.error.details).toMatchObject({ current_usage: 1, limit: 1 });
  });

  test("invalid sizes are rejected before anything starts", async () => {
    const r = await b.json("POST", "/desktops", { cpu_count: 9, memory_mb: 100 }, bob);
    expect(r.status).toBe(400);
    const dir = await b.json("POST", "/desktops", { working_directory: "/etc" }, bob);
    expect(dir.body.error.code).toBe("INVALID_ARGUMENT");
  });

  test("stats are per user for users and global for admins", async () => {
    const own = await b.json("GET", "/stats", undefined, bob);
    expect(own.body).toMatchObject({ scope: "user", total_active_sandboxes: 0, sandboxes_by_user: {} });
    const all = await b.json("GET", "/stats", undefined, admin);
    expect(all.body).toMatchObject({ scope: "all", total_active_sandboxes: 1, total_users: 1, sandboxes_by_user: { alice: 1 } });
  });

  test("a desktop whose timeout passes is destroyed", async () => {
    const r = await b.json("POST", "/desktops", { timeout_seconds: 1 }, bob);
    expect(r.status).toBe(201);
    await eventually(async () => (await b.json("GET", `/desktops/${r.body.sandbox_id}`, undefined, bob)).status === 404, "expiry", 5_000);
    expect((await b.json("GET", "/desktops", undefined, bob)).body.desktops).toEqual([]);
  });

  test("a desktop whose X server dies is removed", async () => {
    const r = await b.json("POST", "/desktops", {}, bob);
    expect(r.status).toBe(201);
    // Unisolated here, so the command can signal the desktop's own Xvfb (its pid is in the display's lock file).
    const killed = await b.json("POST", `/desktops/${r.body.sandbox_id}/commands`, { command: `kill $(cat /tmp/.X${r.body.display.slice(1)}-lock)` }, bob);
    expect(killed.body).toMatchObject({ exit_code: 0 });
    await eventually(async () => (await b.json("GET", `/desktops/${r.body.sandbox_id}`, undefined, bob)).status === 404, "the lost desktop to go", 5_000);
  });

  test("only admins clean up other users' desktops; cleanup destroys them", async () => {
    const refused = await b.json("POST", "/cleanup", { user_id: "alice" }, bob);
    expect(refused.status).toBe(403);
    const done = await b.json("POST", "/cleanup", { user_id: "alice" }, admin);
    expect(done.body).toEqual({ destroyed: 1, sandbox_ids: [aliceDesktop] });
    expect((await b.json("GET", `/desktops/${aliceDesktop}`, undefined, alice)).status).toBe(404);
  });
});

describe("scaled mode presents a standard size and maps coordinates to real pixels", () => {
  let b: TestBunker;
  let id: string;

  beforeAll(async () => {
    b = await startBunker();
    const r = await b.json("POST", "/desktops", { screen_width: 1920, screen_height: 1200, scaled: true });
    id = r.body.sandbox_id;
    expect(r.body.logical_screen).toEqual({ width: 1280, height: 800, name: "WXGA" });
  });

  afterAll(async () => {
    await b.close();
  });

  test("a click at a scaled point lands on the matching real pixel", async () => {
    const r = await b.json("POST", `/desktops/${id}/mouse/click`, { x: 640, y: 400 });
    expect(r.body.cursor).toEqual({ x: 640, y: 400 });
    const real = await b.json("POST", `/desktops/${id}/commands`, { command: "xdotool getmouselocation --shell" });
    expect(real.body.stdout).toContain("X=960\nY=600\n");
  });

  test("screenshots come at the scaled size, and crops use scaled coordinates", async () => {
    const full = await b.call("GET", `/desktops/${id}/screenshot`);
    expect((await sharp(Buffer.from(await full.arrayBuffer())).metadata())).toMatchObject({ width: 1280, height: 800 });
    const crop = await b.call("GET", `/desktops/${id}/screenshot?x=100&y=100&crop_width=200&crop_height=100&format=webp`);
    expect((await sharp(Buffer.from(await crop.arrayBuffer())).metadata())).toMatchObject({ width: 200, height: 100, format: "webp" });
  });
});
