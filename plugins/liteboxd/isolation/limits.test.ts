// Limits on a host whose cgroups cannot be written: rlimits step in and every gap is reported, never dropped.
import { describe, expect, test } from "bun:test";
import { createSandboxCgroups, probeCgroups } from "./limits";

describe("limits without writable cgroups", () => {
  const noCgroups = { version: 1 as const, parents: {}, reasons: { memory: "memory is read-only here", cpu: "cpu is read-only here", pids: "pids is read-only here" } };

  test("memory and pids fall back to rlimits and cpu is reported as not enforced", () => {
    const groups = createSandboxCgroups("no-cgroups", { memoryMb: 64, cpus: 0.5, pids: 10 }, noCgroups);
    expect(groups.procsFiles).toEqual([]);
    expect(groups.rlimitArgs).toEqual([`--as=${64 * 1024 * 1024}`, "--nproc=10"]);
    expect(groups.unenforced).toHaveLength(3);
    expect(groups.unenforced[0]).toStartWith("memory: memory is read-only here");
    expect(groups.unenforced[1]).toStartWith("cpu: cpu is read-only here");
    expect(groups.unenforced[2]).toStartWith("pids: pids is read-only here");
    expect(groups.update({ memoryMb: 32 })).toHaveLength(1);
  });

  test("on this host every controller is writable, so nothing is reported", () => {
    const layout = probeCgroups();
    expect(Object.keys(layout.parents).sort()).toEqual(["cpu", "memory", "pids"]);
    const groups = createSandboxCgroups(`probe-${process.pid}`, { memoryMb: 64, cpus: 0.5, pids: 10 }, layout);
    expect(groups.unenforced).toEqual([]);
    expect(groups.update({ memoryMb: 128, cpus: 1, pids: 20 })).toEqual([]);
    return groups.remove();
  });
});
