// What cpu and memory one sandbox may have: at least MIN_MEMORY_MIB of memory, and at most the host's capacity, or
// less where the operator configured it (plugins.liteboxd.maxSandboxCpu / maxSandboxMemory). A template or override
// outside that is the caller's 400.
import { availableParallelism, totalmem } from "node:os";
import { errors } from "./errors";
import { parseCpuCores, parseMemoryMiB, QuantityError, quoted } from "bunker/core";

/** Below this a sandbox's own processes (the supervisor, a shell) do not start. */
export const MIN_MEMORY_MIB = 16;

export interface ResourceCeilingOptions {
  /** A Kubernetes quantity ("4", "1500m"); default: the host's cores. */
  maxSandboxCpu?: string;
  /** A Kubernetes quantity ("8Gi"); default: the host's memory. */
  maxSandboxMemory?: string;
}

export interface ResourceCeiling {
  readonly cpuCores: number;
  readonly memoryMiB: number;
  /** Parses `cpu` and `memory` (Kubernetes quantities) once and holds them against the floor and the ceiling: a bad
   * quantity, or one out of range, is INVALID_REQUEST naming the limit. A quantity not given ("" included) is not
   * checked, and its number is undefined. */
  admit(cpu: string, memory: string): { cpus: number; memoryMb: number };
  admit(cpu?: string, memory?: string): { cpus?: number; memoryMb?: number };
  /** admit() without the numbers. */
  check(resources: { cpu?: string; memory?: string }): void;
}

export const HOST_CPU_CORES = availableParallelism();
export const HOST_MEMORY_MIB = Math.floor(totalmem() / 1024 / 1024);

/** A quantity's value, a QuantityError being the caller's 400. */
function parsed(text: string, parse: (text: string) => number): number {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof QuantityError) throw errors.INVALID_REQUEST(error.message);
    throw error;
  }
}

/** Parses the configured maxima once (a bad quantity stops the boot, naming the config key). */
export function createResourceCeiling(options: ResourceCeilingOptions = {}): ResourceCeiling {
  const configured = (key: keyof ResourceCeilingOptions, parse: (text: string) => number): number | undefined => {
    const text = options[key];
    if (text === undefined) return undefined;
    try {
      return parse(text);
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

  function admitCpu(cpu: string): number {
    const cpus = parsed(cpu, parseCpuCores);
    if (cpus > cpuCores) throw errors.INVALID_REQUEST(`cpu ${JSON.stringify(quoted(cpu, 256))} is above ${cpuLimit}`);
    return cpus;
  }
  function admitMemory(memory: string): number {
    const memoryMb = parsed(memory, parseMemoryMiB);
    if (memoryMb < MIN_MEMORY_MIB) throw errors.INVALID_REQUEST(`memory must be at least ${MIN_MEMORY_MIB}Mi, got "${quoted(memory, 256)}"`);
    if (memoryMb > memoryMiB) throw errors.INVALID_REQUEST(`memory ${JSON.stringify(quoted(memory, 256))} is above ${memoryLimit}`);
    return memoryMb;
  }
  function admit(cpu?: string, memory?: string) {
    return { cpus: cpu ? admitCpu(cpu) : undefined, memoryMb: memory ? admitMemory(memory) : undefined };
  }

  return {
    cpuCores,
    memoryMiB,
    admit: admit as ResourceCeiling["admit"],
    check: ({ cpu, memory }) => void admit(cpu, memory),
  };
}
