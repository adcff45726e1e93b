// Bun inside sandboxes, wherever the host keeps it: a fresh machine runs Bun from npx's cache under /root, which no
// sandbox can see.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { SANDBOX_BUN } from "bunker/core";
import { stageBunBinary } from "./bun-binary";
import { createBwrapIsolation } from "./index";

// A Bun binary in a 0700 directory under the home, as `npx bun` and Bun's installer leave it.
const privateDir = mkdtempSync(join(homedir(), ".bunker-test-bun-"));
const hiddenBun = join(privateDir, "node_modules", "bun", "bin", "bun.exe");
mkdirSync(join(privateDir, "node_modules", "bun", "bin"), { recursive: true });
copyFileSync(process.execPath, hiddenBun);
const stagingBase = mkdtempSync(join(tmpdir(), "bunker-bun-test-"));
afterAll(() => {
  rmSync(privateDir, { recursive: true, force: true });
  rmSync(stagingBase, { recursive: true, force: true });
});

describe("the server's Bun inside sandboxes", () => {
  test("a Bun under a private home directory runs inside the sandbox at SANDBOX_BUN, and `bun`/`bunx` on PATH are it", async () => {
    const iso = createBwrapIsolation({ bunBinary: hiddenBun });
    const r = await iso.run({
      argv: ["/bin/sh", "-c", `command -v bun; bun --version; bunx --version; bun -e "console.log(process.getuid())"; test -e ${hiddenBun} || echo hidden`],
    });
    expect(r.stderr).toBe("");
    const [where, version, bunxVersion, uid, hostPath] = r.stdout.trim().split("\n");
    expect(where).toBe(SANDBOX_BUN);
    expect(version).toBe(Bun.version);
    expect(bunxVersion).toBe(Bun.version);
    expect(uid).toBe("65534");
    expect(hostPath).toBe("hidden");
    expect(r.exitCode).toBe(0);
  });

  test("the sandbox cannot change the bound binary", async () => {
    const iso = createBwrapIsolation({ bunBinary: hiddenBun });
    const r = await iso.run({ argv: ["/bin/sh", "-c", `echo x > ${SANDBOX_BUN} 2>&1; rm -f ${SANDBOX_BUN} 2>&1; test -x ${SANDBOX_BUN} && echo intact`] });
    expect(r.stdout).toContain("intact");
    expect(statSync(hiddenBun).size).toBe(statSync(process.execPath).size);
  });

  test("staging is a link or copy any uid can read, made once per binary", () => {
    const first = stageBunBinary(hiddenBun, stagingBase);
    const second = stageBunBinary(hiddenBun, stagingBase);
    expect(second).toBe(first);
    expect(statSync(first).mode & 0o005).toBe(0o005);
    expect(statSync(first).size).toBe(statSync(hiddenBun).size);
  });
});
