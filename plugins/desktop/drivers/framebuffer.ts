// Reads Xvfb's framebuffer (an XWD file written by `-fbdir`) straight from shared memory: no process per screenshot.
import type { Frame } from "./types";

export interface FramebufferLayout {
  width: number;
  height: number;
  bytesPerLine: number;
  pixelOffset: number;
  /** Byte index of red, green and blue inside one 4-byte pixel. */
  red: number;
  green: number;
  blue: number;
}

/** Parses the XWD header (big-endian 32-bit fields) and checks it describes 32-bit true colour pixels. */
export function parseXwdHeader(bytes: Uint8Array): FramebufferLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const field = (index: number) => view.getUint32(index * 4, false);
  const headerSize = field(0);
  const width = field(4);
  const height = field(5);
  const byteOrder = field(7);
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const redMask = field(14);
  const greenMask = field(15);
  const blueMask = field(16);
  const colours = field(19);
  if (bitsPerPixel !== 32) throw new Error(`framebuffer has ${bitsPerPixel} bits per pixel; expected 32 (start Xvfb with depth 24)`);
  // Masks are for the pixel as a 32-bit value; byte_order says how that value is laid out in memory.
  const byteOf = (mask: number) => {
    const shift = Math.log2(mask & -mask);
    const index = shift / 8;
    return byteOrder === 0 ? index : 3 - index;
  };
  return {
    width, height, bytesPerLine,
    pixelOffset: headerSize + colours * 12,
    red: byteOf(redMask), green: byteOf(greenMask), blue: byteOf(blueMask),
  };
}

export class Framebuffer {
  private bytes: Uint8Array;
  readonly layout: FramebufferLayout;

  constructor(readonly path: string) {
    this.bytes = Bun.mmap(path, { shared: true });
    this.layout = parseXwdHeader(this.bytes);
    const needed = this.layout.pixelOffset + this.layout.bytesPerLine * this.layout.height;
    if (this.bytes.length < needed) throw new Error(`framebuffer ${path} is ${this.bytes.length} bytes; expected at least ${needed}`);
  }

  /** Copies the current screen (or a region of it) as packed RGB. The channel swap is a plain loop over 32-bit
   * words: sharp's recomb() for the same job is several times slower. */
  read(region?: { x: number; y: number; width: number; height: number }): Frame {
    const { bytesPerLine, pixelOffset, red, green, blue } = this.layout;
    const x0 = region?.x ?? 0;
    const y0 = region?.y ?? 0;
    const width = region?.width ?? this.layout.width;
    const height = region?.height ?? this.layout.height;
    // Reuse the last full-screen buffer when it is free: a fresh 3 MB allocation per shot costs page faults and GC.
    const size = width * height * 3;
    const spare = this.spare;
    const out = spare && spare.length === size ? spare : Buffer.allocUnsafe(size);
    if (out === spare) this.spare = null;
    const src = this.bytes;
    const base = src.byteOffset + pixelOffset;
    let o = 0;
    if (LITTLE_ENDIAN && base % 4 === 0 && bytesPerLine % 4 === 0) {
      // Int32 with `& 255`: unsigned words above 2^31 would become doubles and make the loop ~15x slower.
      const words = new Int32Array(src.buffer, base, (bytesPerLine / 4) * this.layout.height);
      const rs = red * 8, gs = green * 8, bs = blue * 8;
      const stride = bytesPerLine / 4;
      for (let y = y0; y < y0 + height; y++) {
        let i = y * stride + x0;
        const end = i + width;
        for (; i < end; i++) {
          const v = words[i]!;
          out[o] = (v >> rs) & 255;
          out[o + 1] = (v >> gs) & 255;
          out[o + 2] = (v >> bs) & 255;
          o += 3;
        }
      }
    } else {
      for (let y = y0; y < y0 + height; y++) {
        let i = pixelOffset + y * bytesPerLine + x0 * 4;
        const end = i + width * 4;
        for (; i < end; i += 4) {
          out[o++] = src[i + red]!;
          out[o++] = src[i + green]!;
          out[o++] = src[i + blue]!;
        }
      }
    }
    return { kind: "raw", data: out, width, height, channels: 3, release: () => void (this.spare = out) };
  }

  private spare: Buffer | null = null;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
