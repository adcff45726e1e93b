// A checkout the sandbox's host-root view would hide (a CI clone under /tmp) stays usable inside sandboxes.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hiddenFromHostRoot, installDirArgs } from "./bwrap";
import { createBwrapIsolation } from "./index";

const dir = mkdtempSync(join(tmpdir(), "bunker-install-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the Bunker checkout inside sandboxes", () => {
  test("paths the host-root view hides are recognised, visible ones are not", () => {
    expect(hiddenFromHostRoot("/tmp/clone")).toBe(true);
    expect(hiddenFromHostRoot("/root/bunker")).toBe(true);
    expect(hiddenFromHostRoot("/var/lib/ci/bunker")).toBe(true);
    expect(hiddenFromHostRoot("/work/main")).toBe(false);
    expect(installDirArgs("/work/main", [], "/dev/null")).toEqual([]);
  });

  test("a hidden checkout is bound back read-only with its data directory masked again", async () => {
    const checkout = join(dir, "checkout");
    mkdirSync(join(checkout, "data"), { recursive: true });
    writeFileSync(join(checkout, "code.ts"), "export const ok = 1;\n");
    writeFileSync(join(checkout, "data", "bunker.db"), "secret");
    const args = installDirArgs(checkout, [join(checkout, "data")], "/dev/null");
    expect(args.slice(0, 3)).toEqual(["--ro-bind", checkout, checkout]);
    expect(args).toContain("--tmpfs");

    // A writable /tmp mounted for the sandbox (as liteboxd does) must not cover a checkout that lives under /tmp.
    const { buildBwrapArgs } = await import("./bwrap");
    const built = buildBwrapArgs({ argv: ["true"], mounts: [{ host: dir, sandbox: "/tmp", writable: true }] }, { rootArgs: [], uid: 1, gid: 1, baseMounts: args });
    expect(built.indexOf(checkout)).toBeGreaterThan(built.indexOf("/tmp"));

    // The real check runs from this checkout's own location.
    const isolation = createBwrapIsolation({ maskPaths: [] });
    const here = join(import.meta.dir, "install-dir.test.ts");
    const seen = await isolation.run({ argv: ["cat", here] });
    expect(seen.exitCode).toBe(0);
    expect(seen.stdout).toContain("the Bunker checkout inside sandboxes");
  });
});
