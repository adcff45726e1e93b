// Connection limits, the idle timeout, and a host key that stays the same across a restart (real OpenSSH client).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { HOST_KEY_FILE } from "./hostkey";
import {
  bootGateway, call, commonOptions, createSandbox, createTemplate, keyOptions, makeUser, run, spawnBackground, tempDir,
  type Gw, type User,
} from "./testkit";
import { eventually } from "../../test/support/eventually";

const dir = tempDir("ssh-gateway-limits-");
const dataDir = join(dir, "data");
const knownHosts = join(dir, "known_hosts");
const LIMITS = { maxConnectionsPerSandbox: 1, maxConnectionsPerUser: 2, idleTimeoutSeconds: 2 };
let gw: Gw;
let carol: User;

const sshArgs = (id: string, ...command: string[]) =>
  ["ssh", ...commonOptions(knownHosts), ...keyOptions(carol.keyFile), "-p", String(gw.port), `${id}@127.0.0.1`, "--", ...command];
const events = async (id: string) =>
  ((await (await call(gw, carol, "GET", `/api/v1/sandboxes/${id}/logs`)).json()) as { events: string[] }).events.join("\n");
/** A session that stays busy (output every 200 ms keeps it clear of the idle timeout). */
const busySession = (id: string) => spawnBackground(sshArgs(id, "while true; do echo tick; sleep 0.2; done"));

beforeAll(async () => {
  mkdirSync(dataDir);
  gw = await bootGateway(dataDir, LIMITS);
  carol = await makeUser(gw, "carol", dir);
  expect((await call(gw, carol, "POST", "/ssh/keys", { publicKey: carol.publicKey })).status).toBe(201);
  await createTemplate(gw, carol, "plain", {});
});
afterAll(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("connection limits", () => {
  test("a sandbox takes only so many connections, and a user only so many in all", async () => {
    const [a, b, c] = await Promise.all([createSandbox(gw, carol, "plain"), createSandbox(gw, carol, "plain"), createSandbox(gw, carol, "plain")]);
    const first = busySession(a.id);
    const second = busySession(b.id);
    try {
      await eventually(async () => (await events(a.id)).includes("SSHCommand") && (await events(b.id)).includes("SSHCommand"), "both sessions to run", 10_000);
      const sameSandbox = await run(sshArgs(a.id, "echo in"));
      expect(sameSandbox.code).toBe(255);
      expect(sameSandbox.stderr).toContain(`too many SSH connections to sandbox ${a.id} (limit 1)`);
      const thirdOfUser = await run(sshArgs(c.id, "echo in"));
      expect(thirdOfUser.code).toBe(255);
      expect(thirdOfUser.stderr).toContain("too many SSH connections for your user (limit 2)");
      expect(await events(a.id)).toContain("[Warning] SSHLoginRefused");
    } finally {
      first.kill();
      second.kill();
      await Promise.all([first.exited, second.exited]);
    }
    const freed = await eventually(async () => { const r = await run(sshArgs(c.id, "echo in")); return r.code === 0 && r; }, "a free connection slot", 10_000);
    expect(freed.stdout).toBe("in\n");
  });
});

describe("the idle timeout", () => {
  test("a connection without traffic is closed, with a message", async () => {
    const idle = await createSandbox(gw, carol, "plain");
    const r = await run(sshArgs(idle.id, "sleep 30"), { timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("no activity for 2s: connection closed");
    expect(await events(idle.id)).toContain("SSHIdleTimeout");
  });
});

describe("the host key", () => {
  test("is created once with mode 0600 and stays the same across a restart", async () => {
    const keyFile = join(dataDir, "plugins", "ssh-gateway", HOST_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const strict = (id: string) => run(["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`,
      "-o", "HostKeyAlias=bunker-gateway", ...keyOptions(carol.keyFile), "-p", String(gw.port), `${id}@127.0.0.1`, "--", "echo same host"]);
    const accept = async (id: string) => run(["ssh", ...commonOptions(knownHosts), "-o", "HostKeyAlias=bunker-gateway", ...keyOptions(carol.keyFile),
      "-p", String(gw.port), `${id}@127.0.0.1`, "--", "true"]);
    const before = await createSandbox(gw, carol, "plain");
    expect((await accept(before.id)).code).toBe(0);
    expect((await strict(before.id)).code).toBe(0);
    const infoBefore = (await (await call(gw, carol, "GET", "/ssh")).json()) as { hostKey: { fingerprint: string } };

    await gw.stop();
    gw = await bootGateway(dataDir, LIMITS);
    const infoAfter = (await (await call(gw, carol, "GET", "/ssh")).json()) as { hostKey: { fingerprint: string } };
    expect(infoAfter.hostKey.fingerprint).toBe(infoBefore.hostKey.fingerprint);
    const after = await createSandbox(gw, carol, "plain");
    const r = await strict(after.id);
    expect(r.stderr).not.toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    expect(r).toMatchObject({ code: 0, stdout: "same host\n" });
  });
});
