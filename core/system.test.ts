import { describe, expect, test } from "bun:test";
import { debianPackages, missingSystemRequirements } from "./system";

describe("system requirements", () => {
  test("a missing program is named with the Debian package that provides it", () => {
    const message = missingSystemRequirements({ programs: { sh: "dash", "no-such-program-bunker": "bunker-fake-pkg" } });
    expect(message).toContain("program no-such-program-bunker (Debian package bunker-fake-pkg) is not installed");
    expect(message).toContain("apt-get install bunker-fake-pkg");
    expect(message).not.toContain("dash");
  });

  test("a package without a program is checked with dpkg", () => {
    expect(missingSystemRequirements({ apt: ["dpkg"] })).toBeNull();
    expect(missingSystemRequirements({ apt: ["bunker-no-such-package"] })).toContain("Debian package bunker-no-such-package is not installed");
  });

  test("programs in sbin directories count even when PATH leaves them out", () => {
    expect(missingSystemRequirements({ programs: { "dpkg-query": "dpkg" } }, "/nonexistent")).toBeNull();
  });

  test("the set-up installs the packages of every program, the extra packages and, for tests, the test packages", () => {
    const req = { programs: { xterm: "xterm", xmessage: "x11-utils", xprop: "x11-utils" }, apt: ["xfonts-base"], testApt: ["tmux"] };
    expect(debianPackages(req, false)).toEqual(["x11-utils", "xfonts-base", "xterm"]);
    expect(debianPackages(req, true)).toEqual(["tmux", "x11-utils", "xfonts-base", "xterm"]);
  });
});

describe("the built-in plugins after set-up", () => {
  test("every program and package a built-in plugin declares is installed (set-up installs exactly these)", async () => {
    const { discoverBuiltins } = await import("./loader");
    const missing: string[] = [];
    for (const { def } of await discoverBuiltins()) {
      const message = missingSystemRequirements(def.system);
      if (message) missing.push(`${def.name}: ${message}`);
    }
    expect(missing).toEqual([]);
  });
});
