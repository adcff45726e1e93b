// Pure pieces: key names, scaled-mode arithmetic, the XWD header, and how text splits between typing and pasting.
import { describe, expect, test } from "bun:test";
import { parseXwdHeader } from "./drivers/framebuffer";
import { splitAsciiRuns } from "./drivers/local";
import { keysymOf } from "./keys";
import { chooseScaling } from "./scaling";

describe("key names", () => {
  test("common names, letters, function keys and punctuation map to X keysyms", () => {
    expect(keysymOf("enter")).toBe("Return");
    expect(keysymOf("Ctrl")).toBe("ctrl");
    expect(keysymOf("F12")).toBe("F12");
    expect(keysymOf("a")).toBe("a");
    expect(keysymOf("-")).toBe("minus");
    expect(keysymOf("pagedown")).toBe("Next");
  });

  test("anything else is unknown, including shell syntax and xdotool options", () => {
    for (const bad of ["F25", "ctrl+c", "$(id)", "--help", "Return;", "你"]) expect(keysymOf(bad)).toBeNull();
  });
});

describe("scaled mode", () => {
  test("a 16:10 screen larger than WXGA is presented at 1280x800 and maps both ways", () => {
    const s = chooseScaling(1920, 1200);
    expect([s.name, s.width, s.height]).toEqual(["WXGA", 1280, 800]);
    expect(s.toReal(640, 400)).toEqual({ x: 960, y: 600 });
    expect(s.toLogical(960, 600)).toEqual({ x: 640, y: 400 });
    expect(s.toReal(5000, 5000)).toEqual({ x: 1919, y: 1199 });
  });

  test("a 4:3 screen uses XGA; a screen with no matching target is not scaled", () => {
    expect(chooseScaling(2048, 1536).name).toBe("XGA");
    expect(chooseScaling(1280, 800).name).toBeNull();
    expect(chooseScaling(1000, 1000).name).toBeNull();
  });
});

describe("XWD header", () => {
  test("finds the pixel data and the byte of each channel (little-endian BGRX)", () => {
    const header = new DataView(new ArrayBuffer(100));
    const fields: Record<number, number> = { 0: 100, 4: 640, 5: 480, 7: 0, 11: 32, 12: 2560, 14: 0xff0000, 15: 0xff00, 16: 0xff, 19: 2 };
    for (const [i, v] of Object.entries(fields)) header.setUint32(Number(i) * 4, v, false);
    expect(parseXwdHeader(new Uint8Array(header.buffer))).toEqual({
      width: 640, height: 480, bytesPerLine: 2560, pixelOffset: 124, red: 2, green: 1, blue: 0,
    });
  });

  test("refuses a framebuffer that is not 32 bits per pixel", () => {
    const header = new DataView(new ArrayBuffer(100));
    header.setUint32(11 * 4, 16, false);
    expect(() => parseXwdHeader(new Uint8Array(header.buffer))).toThrow("bits per pixel");
  });
});

describe("typing plan", () => {
  test("ASCII runs are typed and other runs pasted, in order", () => {
    expect(splitAsciiRuns("ls 你好 ok\n")).toEqual([
      { ascii: true, text: "ls " }, { ascii: false, text: "你好" }, { ascii: true, text: " ok\n" },
    ]);
  });
});
