// Screenshot encoding with sharp: crop (real pixels), resize, then png/jpeg/webp.
import sharp from "sharp";
import type { Frame } from "./drivers/types";

export type ImageFormat = "png" | "jpeg" | "webp";

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface EncodeOptions {
  format: ImageFormat;
  quality?: number;
  /** In real screen pixels; already clamped to the screen. */
  crop?: Region;
  /** Output size; one side alone keeps the aspect ratio. */
  width?: number;
  height?: number;
}

export const MIME: Record<ImageFormat, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };

export async function encodeFrame(frame: Frame, options: EncodeOptions): Promise<{ data: Buffer; width: number; height: number }> {
  let image = frame.kind === "raw"
    ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } })
    : sharp(frame.data).removeAlpha();
  if (options.crop) {
    image = image.extract({ left: options.crop.x, top: options.crop.y, width: options.crop.width, height: options.crop.height });
  }
  if (options.width || options.height) {
    image = image.resize(options.width, options.height, { fit: options.width && options.height ? "fill" : "inside", kernel: "lanczos3" });
  }
  const quality = options.quality ?? 80;
  image = options.format === "png"
    ? image.png({ compressionLevel: 1, adaptiveFiltering: false })
    : options.format === "jpeg"
      ? image.jpeg({ quality, mozjpeg: false })
      : image.webp({ quality, effort: 0 });
  const { data, info } = await image.toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
