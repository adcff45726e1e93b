// A real local desktop (Xvfb, openbox, xterm, xdotool, xclip) driven through the HTTP routes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { eventually, startBunker, type TestBunker } from "./test-helpers";

let b: TestBunker;
let id: string;

beforeAll(async () => {
  b = await startBunker();
  const created = await b.json("POST", "/desktops", { screen_width: 1024, screen_height: 768, timeout_seconds: 600 });
  expect(created.status).toBe(201);
  id = created.body.sandbox_id;
  const root = await b.json("POST", `/desktops/${id}/commands`, { command: "xsetroot -solid '#3366cc'" });
  expect(root.body.exit_code).toBe(0);
});

afterAll(async () => {
  await b.close();
});

async function shot(query: string) {
  const res = await b.call("GET", `/desktops/${id}/screenshot${query}`);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  return { res, bytes, info, pixel };
}

const near = (actual: number[], expected: number[], tolerance: number) =>
  actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);

async function xterm() {
  const launched = await b.json("POST", `/desktops/${id}/apps/launch`, { application: "xterm" });
  expect(launched.status).toBe(200);
  const windowId = await eventually(async () => {
    const r = await b.json("GET", `/desktops/${id}/windows?application=xterm`);
    return r.body.windows[0] as string | undefined;
  }, "the xterm window");
  return windowId;
}

async function geometry(windowId: string) {
  // xwininfo, not xdotool getwindowgeometry: the latter adds the frame's offset twice under openbox.
  const r = await b.json("POST", `/desktops/${id}/commands`, { command: `xwininfo -id ${windowId}` });
  const num = (label: string) => Number(new RegExp(`${label}:\\s+(-?\\d+)`).exec(r.body.stdout)?.[1]);
  return { x: num("Absolute upper-left X"), y: num("Absolute upper-left Y"), width: num("Width"), height: num("Height") };
}

describe("screenshots read the framebuffer and encode it with sharp", () => {
  test("a PNG shows the root window's colour at full size", async () => {
    const { res, info, pixel } = await shot("?format=png");
    expect(res.headers.get("content-type")).toBe("image/png");
    expect([info.width, info.height]).toEqual([1024, 768]);
    expect(pixel(5, 5)).toEqual([0x33, 0x66, 0xcc]);
    expect(pixel(1000, 700)).toEqual([0x33, 0x66, 0xcc]);
  });

  test("JPEG and WebP keep the colour within lossy tolerance", async () => {
    for (const format of ["jpeg", "webp"]) {
      const { res, bytes, pixel } = await shot(`?format=${format}&quality=90`);
      expect(res.headers.get("content-type")).toBe(`image/${format}`);
      expect((await sharp(bytes).metadata()).format).toBe(format as "jpeg" | "webp");
      expect(near(pixel(20, 20), [0x33, 0x66, 0xcc], 12)).toBe(true);
    }
  });

  test("width, height and scale resize the image", async () => {
    expect((await shot("?width=512")).info).toMatchObject({ width: 512, height: 384 });
    expect((await shot("?width=300&height=100")).info).toMatchObject({ width: 300, height: 100 });
    expect((await shot("?scale=0.25&format=jpeg")).info).toMatchObject({ width: 256, height: 192 });
  });

  test("a crop region returns only that part of the screen", async () => {
    const { info, pixel } = await shot("?x=100&y=50&crop_width=200&crop_height=120");
    expect([info.width, info.height]).toEqual([200, 120]);
    expect(pixel(0, 0)).toEqual([0x33, 0x66, 0xcc]);
  });

  test("a crop region outside the screen is an INVALID_ARGUMENT", async () => {
    const r = await b.json("GET", `/desktops/${id}/screenshot?x=2000&y=2000&crop_width=10&crop_height=10`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
  });
});

describe("xterm: typing ASCII and CJK text, windows and cropping to a window", () => {
  let windowId: string;

  beforeAll(async () => {
    windowId = await xterm();
  });

  test("the new window is the current window and has a title", async () => {
    const current = await eventually(async () => {
      const r = await b.json("GET", `/desktops/${id}/windows/current`);
      return r.body.window_id === windowId ? r.body.window_id : null;
    }, "xterm to take focus");
    expect(current).toBe(windowId);
    const title = await b.json("GET", `/desktops/${id}/windows/${windowId}/title`);
    expect(title.body.title.length).toBeGreaterThan(0);
  });

  test("typed ASCII and CJK text reaches the shell, which writes it to a file", async () => {
    const text = "echo 'Hello Bunker 你好，世界 こんにちは' > ~/typed.txt";
    const typed = await b.json("POST", `/desktops/${id}/keyboard/type`, { text, chunk_size: 10, delay_ms: 2 });
    expect(typed.status).toBe(200);
    expect((await b.json("POST", `/desktops/${id}/keyboard/press`, { key: "enter" })).status).toBe(200);
    const content = await eventually(async () => {
      const r = await b.json("GET", `/desktops/${id}/files?path=/home/user/typed.txt`);
      return r.status === 200 && r.body.content.endsWith("\n") ? r.body.content : null;
    }, "the shell to write typed.txt");
    expect(content).toBe("Hello Bunker 你好，世界 こんにちは\n");
  });

  test("a key combination reaches the application (ctrl+u clears the line)", async () => {
    await b.json("POST", `/desktops/${id}/keyboard/type`, { text: "garbage-that-is-cleared" });
    expect((await b.json("POST", `/desktops/${id}/keyboard/combination`, { keys: ["ctrl", "u"] })).status).toBe(200);
    await b.json("POST", `/desktops/${id}/keyboard/type`, { text: "echo combo > ~/combo.txt\n" });
    const content = await eventually(async () => {
      const r = await b.json("GET", `/desktops/${id}/files?path=combo.txt`);
      return r.status === 200 && r.body.content;
    }, "combo.txt");
    expect(content).toBe("combo\n");
  });

  test("unknown key names are rejected with what is accepted", async () => {
    const r = await b.json("POST", `/desktops/${id}/keyboard/combination`, { keys: ["ctrl", "$(reboot)"] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
    expect(r.body.error.details.examples).toContain("enter");
  });

  test("a screenshot cropped to the window has the window's size", async () => {
    const g = await geometry(windowId);
    const { info, pixel } = await shot(`?window_id=${windowId}`);
    expect([info.width, info.height]).toEqual([g.width, g.height]);
    // xterm's background is white; the desktop around it is blue.
    expect(pixel(g.width - 20, g.height - 20)).toEqual([255, 255, 255]);
    const around = await shot(`?x=${g.x - 10}&y=${g.y + 100}&crop_width=20&crop_height=5`);
    expect(around.pixel(2, 2)).toEqual([0x33, 0x66, 0xcc]);
    expect(around.pixel(17, 2)).toEqual([255, 255, 255]);
  });

  test("dragging the title bar moves the window and leaves the cursor at the end point", async () => {
    const before = await geometry(windowId);
    const from = { x: before.x + 60, y: before.y - 8 };
    const to = { x: from.x - 150, y: from.y + 90 };
    const drag = await b.json("POST", `/desktops/${id}/mouse/drag`, { path: [from, to] });
    expect(drag.status).toBe(200);
    expect(drag.body.cursor).toEqual(to);
    const after = await eventually(async () => {
      const g = await geometry(windowId);
      return g.x !== before.x ? g : null;
    }, "the window to move");
    expect([after.x - before.x, after.y - before.y]).toEqual([-150, 90]);
  });
});

describe("mouse", () => {
  test("move and click report where the cursor is", async () => {
    const moved = await b.json("POST", `/desktops/${id}/mouse/move`, { x: 400, y: 300 });
    expect(moved.body.cursor).toEqual({ x: 400, y: 300 });
    const clicked = await b.json("POST", `/desktops/${id}/mouse/click`, { x: 10, y: 700, button: "right", double: true });
    expect(clicked.body.cursor).toEqual({ x: 10, y: 700 });
    expect((await b.json("GET", `/desktops/${id}/mouse/cursor`)).body).toEqual({ x: 10, y: 700 });
  });

  test("scroll and button down/up succeed; coordinates off the screen are clamped", async () => {
    expect((await b.json("POST", `/desktops/${id}/mouse/scroll`, { direction: "down", amount: 2 })).status).toBe(200);
    expect((await b.json("POST", `/desktops/${id}/mouse/down`, { button: "left" })).status).toBe(200);
    expect((await b.json("POST", `/desktops/${id}/mouse/up`, { button: "left" })).status).toBe(200);
    const far = await b.json("POST", `/desktops/${id}/mouse/move`, { x: 5000, y: 5000 });
    expect(far.body.cursor).toEqual({ x: 1023, y: 767 });
  });

  test("a click with only x is an INVALID_ARGUMENT", async () => {
    const r = await b.json("POST", `/desktops/${id}/mouse/click`, { x: 10 });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
  });
});

describe("commands and files", () => {
  test("a command returns its exit code, stdout and stderr, in the working directory", async () => {
    const r = await b.json("POST", `/desktops/${id}/commands`, { command: "echo out; echo err >&2; pwd; exit 3" });
    expect(r.body).toMatchObject({ exit_code: 3, stderr: "err\n", timed_out: false });
    expect(r.body.stdout.startsWith("out\n")).toBe(true);
  });

  test("a command that outlives its timeout is killed, with its output so far", async () => {
    const started = Date.now();
    const r = await b.json("POST", `/desktops/${id}/commands`, { command: "echo started; sleep 30 & sleep 30; echo never", timeout_seconds: 0.5 });
    expect(r.body.timed_out).toBe(true);
    expect(r.body.stdout).toBe("started\n");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test("files written as text or base64 read back the same", async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    expect((await b.json("PUT", `/desktops/${id}/files`, { path: "/home/user/bin/data.bin", content: bytes.toString("base64"), encoding: "base64" })).status).toBe(200);
    const r = await b.json("GET", `/desktops/${id}/files?path=/home/user/bin/data.bin&encoding=base64`);
    expect(Buffer.from(r.body.content, "base64")).toEqual(bytes);
    await b.json("PUT", `/desktops/${id}/files`, { path: "notes.txt", content: "第一行\n" });
    const cat = await b.json("POST", `/desktops/${id}/commands`, { command: "cat notes.txt" });
    expect(cat.body.stdout).toBe("第一行\n");
  });

  test("paths outside the home, or leading out through a symlink, are refused", async () => {
    const outside = await b.json("GET", `/desktops/${id}/files?path=/etc/hostname`);
    expect(outside.status).toBe(400);
    expect(outside.body.error.code).toBe("INVALID_ARGUMENT");
    await b.json("POST", `/desktops/${id}/commands`, { command: "ln -sf /etc/hostname ~/escape" });
    const viaLink = await b.json("GET", `/desktops/${id}/files?path=escape`);
    expect(viaLink.status).toBe(400);
    const missing = await b.json("GET", `/desktops/${id}/files?path=nope.txt`);
    expect(missing.status).toBe(404);
  });

  test("launching something that is not an application name is refused", async () => {
    const r = await b.json("POST", `/desktops/${id}/apps/launch`, { application: "xterm -e rm -rf ~" });
    expect(r.status).toBe(400);
    const unknown = await b.json("POST", `/desktops/${id}/apps/launch`, { application: "no-such-app-here" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("INVALID_ARGUMENT");
  });
});

describe("opening files and viewing one window", () => {
  test("a file opens in the application associated with its type", async () => {
    await b.json("PUT", `/desktops/${id}/files`, {
      path: ".local/share/applications/bunker-viewer.desktop",
      content: "[Desktop Entry]\nType=Application\nName=Viewer\nExec=xterm -T opened-by-xdg-open -e less %f\nMimeType=text/plain;\n",
    });
    await b.json("PUT", `/desktops/${id}/files`, { path: ".config/mimeapps.list", content: "[Default Applications]\ntext/plain=bunker-viewer.desktop\n" });
    await b.json("PUT", `/desktops/${id}/files`, { path: "report.txt", content: "a report\n" });
    expect((await b.json("POST", `/desktops/${id}/files/open`, { path: "report.txt" })).status).toBe(200);
    const title = await eventually(async () => {
      for (const w of (await b.json("GET", `/desktops/${id}/windows?application=xterm`)).body.windows as string[]) {
        const t = (await b.json("GET", `/desktops/${id}/windows/${w}/title`)).body.title;
        if (t === "opened-by-xdg-open") return t;
      }
      return null;
    }, "the associated application's window");
    expect(title).toBe("opened-by-xdg-open");
  });

  test("a live view of one window starts, is listed and stops; an unknown window is refused", async () => {
    const windowId = (await b.json("GET", `/desktops/${id}/windows/current`)).body.window_id;
    const started = await b.json("POST", `/desktops/${id}/streams`, { window_id: windowId, view_only: false });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ window_id: windowId, view_only: false });
    expect((await b.json("GET", `/desktops/${id}/streams`)).body.streams).toHaveLength(1);
    expect((await b.json("DELETE", `/desktops/${id}/streams/${started.body.stream_id}`)).status).toBe(200);
    expect((await b.json("GET", `/desktops/${id}/streams`)).body.streams).toHaveLength(0);
    const unknown = await b.json("POST", `/desktops/${id}/streams`, { window_id: "123456789" });
    expect(unknown.status).toBe(502);
    expect(unknown.body.error.code).toBe("OPERATION_FAILED");
  });
});

describe("without an isolation service", () => {
  test("/health says desktops run unisolated", async () => {
    const health = await (await b.bunker.handle(new Request("http://localhost/health"))).json();
    expect(health.warnings.map((w: { key: string }) => w.key)).toContain("desktop.isolation");
  });

  test("requireIsolation refuses to create a desktop, saying why", async () => {
    const strict = await startBunker({ requireIsolation: true });
    try {
      const r = await strict.json("POST", "/desktops", {});
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe("SANDBOX_CREATION_ERROR");
      expect(r.body.error.message).toContain("isolation");
    } finally {
      await strict.close();
    }
  });
});
