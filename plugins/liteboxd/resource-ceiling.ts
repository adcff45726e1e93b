// The most cpu and memory one sandbox may ask for: the host's capacity, or less where the operator configured it
// (plugins.liteboxd.maxSandboxCpu / maxSandboxMemory). A template or override above it is the caller's 400.
import { availableParallelism, totalmem } from "node:os";
import { echoed, errors } from "./errors";
import { parseCpuCores, parseMemoryMiB, QuantityError } from "bunker/core";

export interface ResourceCeilingOptions {
  /** A Kubernetes quantity ("4", "1500m"); default: the host's cores. */
  maxSandboxCpu?: string;
  /** A Kubernetes quantity ("8Gi"); default: the host's memory. */
  maxSandboxMemory?: string;
}

export interface ResourceCeiling {
  readonly cpuCores: number;
  readonly memoryMiB: number;
  /** Throws INVALID_REQUEST naming the limit when `cpu` or `memory` is above it (or not a quantity). */
  check(resources: { cpu?: string; memory?: string }): void;
}

export const HOST_CPU_CORES = availableParallelism();
export const HOST_MEMORY_MIB = Math.floor(totalmem() / 1024 / 1024);

/** Parses the configured maxima once (a bad quantity stops the boot, naming the config key). */
export function createResourceCeiling(options: ResourceCeilingOptions = {}): ResourceCeiling {
  const configured = (key: keyof ResourceCeilingOptions, parse: (text: string) => number): number | undefined => {
    const text = options[key];
    if (text === undefined) return undefined;
    try {
      const value = parse(text);
      if (!(value > 0)) throw new QuantityError(text, "must be above zero");
      return value;
    } catch (error) {
      throw new Error(`plugins.liteboxd.${key}: ${(error as Error).message}`);
    }
  };
  const cpuMax = configured("maxSandboxCpu", parseCpuCores);
  const memoryMax = configured("maxSandboxMemory", parseMemoryMiB);
  const cpuCores = Math.min(cpuMax ?? HOST_CPU_CORES, HOST_CPU_CORES);
  const memoryMiB = Math.min(memoryMax ?? HOST_MEMORY_MIB, HOST_MEMORY_MIB);
  const cpuLimit = cpuMax !== undefined && cpuMax <= HOST_CPU_CORES
    ? `the configured maximum plugins.liteboxd.maxSandboxCpu (${cpuCores})`
    : `the host's ${cpuCores} cores`;
  const memoryLimit = memoryMax !== undefined && memoryMax <= HOST_MEMORY_MIB
    ? `the configured maximum plugins.liteboxd.maxSandboxMemory (${memoryMiB}Mi)`
    : `the host's memory (${memoryMiB}Mi)`;

  return {
    cpuCores,
    memoryMiB,
    check({ cpu, memory }) {
      try {
        if (cpu && parseCpuCores(cpu) > cpuCores) throw errors.INVALID_REQUEST(`cpu ${JSON.stringify(echoed(cpu))} is above ${cpuLimit}`);
        if (memory && parseMemoryMiB(memory) > memoryMiB) throw errors.INVALID_REQUEST(`memory ${JSON.stringify(echoed(memory))} is above ${memoryLimit}`);
      } catch (error) {
        if (error instanceof QuantityError) throw errors.INVALID_REQUEST(error.message);
        throw error;
      }
    },
  };
}
