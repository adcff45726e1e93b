// Kubernetes resource quantities ("500m", "1.5", "512Mi", "1G", "2e3"): the one parser for cpu and memory strings.
// In the core so every plugin parses cpu and memory strings with one grammar (liteboxd specs, agent.yaml limits).

const SUFFIX_FACTORS: Record<string, number> = {
  "": 1,
  n: 1e-9, u: 1e-6, m: 1e-3,
  k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

// Kubernetes' grammar: a signed decimal number, then a binary-SI suffix, a decimal-SI suffix or a decimal exponent.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export class QuantityError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`invalid quantity ${JSON.stringify(input)}: ${reason}`);
    this.name = "QuantityError";
  }
}

/** The value of a quantity in its base unit (cores for cpu, bytes for memory): "500m" → 0.5, "1Ki" → 1024. */
export function parseQuantity(text: string): number {
  if (typeof text !== "string" || text.trim() === "") throw new QuantityError(String(text), "it is empty");
  const match = QUANTITY.exec(text.trim());
  if (!match) throw new QuantityError(text, "use a number with an optional suffix (m, k, M, G, T, Ki, Mi, Gi, Ti) such as 500m, 1.5 or 512Mi");
  const [, number, suffix, exponent] = match;
  const value = Number(number) * (exponent !== undefined ? 10 ** Number(exponent) : SUFFIX_FACTORS[suffix ?? ""]!);
  if (!Number.isFinite(value)) throw new QuantityError(text, "it is too large");
  return value;
}

/** CPU in cores: "500m" → 0.5, "2" → 2; must be positive. */
export function parseCpuCores(text: string): number {
  const cores = parseQuantity(text);
  if (cores <= 0) throw new QuantityError(text, "cpu must be positive");
  return cores;
}

/** Memory in MiB: "512Mi" → 512, "1Gi" → 1024, "1G" → 953.67…; must be positive. */
export function parseMemoryMiB(text: string): number {
  const bytes = parseQuantity(text);
  if (bytes <= 0) throw new QuantityError(text, "memory must be positive");
  return bytes / 1024 ** 2;
}
