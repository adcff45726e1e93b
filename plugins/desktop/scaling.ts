// Scaled mode, as in Anthropic's computer-use reference: present the screen at a standard size (XGA/WXGA/FWXGA)
// whose aspect ratio matches, and map every coordinate a caller sends back to real pixels.

const TARGETS = [
  { name: "XGA", width: 1024, height: 768 },
  { name: "WXGA", width: 1280, height: 800 },
  { name: "FWXGA", width: 1366, height: 768 },
];

export interface Scaling {
  /** The size callers see. */
  width: number;
  height: number;
  name: string | null;
  toReal(x: number, y: number): { x: number; y: number };
  toLogical(x: number, y: number): { x: number; y: number };
}

export function identityScaling(width: number, height: number): Scaling {
  return { width, height, name: null, toReal: (x, y) => ({ x, y }), toLogical: (x, y) => ({ x, y }) };
}

/** The first target smaller than the screen with an aspect ratio within 0.02; none means no scaling. */
export function chooseScaling(realWidth: number, realHeight: number): Scaling {
  const ratio = realWidth / realHeight;
  const target = TARGETS.find((t) => Math.abs(t.width / t.height - ratio) < 0.02 && t.width < realWidth);
  if (!target) return identityScaling(realWidth, realHeight);
  const fx = target.width / realWidth;
  const fy = target.height / realHeight;
  const clamp = (v: number, max: number) => Math.max(0, Math.min(max - 1, v));
  return {
    width: target.width,
    height: target.height,
    name: target.name,
    toReal: (x, y) => ({ x: clamp(Math.round(x / fx), realWidth), y: clamp(Math.round(y / fy), realHeight) }),
    toLogical: (x, y) => ({ x: clamp(Math.round(x * fx), target.width), y: clamp(Math.round(y * fy), target.height) }),
  };
}
