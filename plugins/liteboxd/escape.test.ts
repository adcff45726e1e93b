// The escape suite: from inside a sandbox, through the public API, try to read host secrets, see host processes and
// other sandboxes, reach the host's loopback, fork-bomb, exhaust memory, write outside the workspace and escape
// through file-API paths. Every attempt must fail and the server must stay healthy.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import { eventually } from "../../test/support/eventually";
import { LiteBoxdClient } from "./client";
import liteboxd from "./index";

// Outside /tmp on purpose: the host's /tmp is private to sandboxes anyway, so this proves the data-dir mask.
const dataDir = mkdtempSync(join(import.meta.dir, ".escape-data-"));
const hostSecret = join(dataDir, "host-secret.txt");
writeFileSync(hostSecret, "the host's secret");
// Marker files in places a host keeps things that are none of a tenant's business: the checkout, /opt, /srv and a
// fresh top-level directory. The sandbox's root is an allow-list, so none of them may show.
const checkoutRoot = join(import.meta.dir, "..", "..");
const markerName = `bunker-escape-marker-${process.pid}`;
const topLevel = `/${markerName}-top`;
const markers = [join(checkoutRoot, markerName), join("/opt", markerName), join("/srv", markerName), join(topLevel, "marker")];
let bunker: Bunker;
let client: LiteBoxdClient;
let api: string;
let id: string;
let neighbour: string;

const sh = (script: string, timeoutMs = 20_000) => client.sandbox.execute(id, ["/bin/sh", "-c", script], { timeoutMs });

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false,
    plugins: [liteboxd],
    config: { dataDir, log: { level: "silent" }, server: { port: 0 }, plugins: { liteboxd: { pidsLimit: 64 } } },
  });
  await bunker.listen();
  api = `${bunker.baseUrl}/api/v1`;
  client = new LiteBoxdClient({ baseUrl: api });
  await client.template.create({ name: "jail", spec: { image: "host", resources: { cpu: "500m", memory: "128Mi" }, ttl: 0 } });
  id = (await client.sandbox.waitForReady((await client.sandbox.create("jail")).id, { pollIntervalMs: 10 })).id;
  neighbour = (await client.sandbox.waitForReady((await client.sandbox.create("jail")).id, { pollIntervalMs: 10 })).id;
  await client.sandbox.execute(neighbour, ["sh", "-c", "echo neighbour-secret > /workspace/mine.txt; exec sleep 1000 &"]);
});
afterAll(async () => {
  for (const marker of markers) rmSync(marker, { force: true });
  rmSync(topLevel, { recursive: true, force: true });
  await bunker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(async () => {
  const health = await fetch(`${bunker.baseUrl}/health`);
  expect(health.status).toBe(200);
  expect(((await health.json()) as { status: string }).status).toBe("ok");
});

describe("host secrets", () => {
  test("/etc/shadow is absent and /root and /home show nothing", async () => {
    const r = await sh("cat /etc/shadow; ls -A /root /home");
    expect(r.stdout).toBe("/home:\n\n/root:\n");
    expect(r.stderr).toContain("/etc/shadow: No such file");
  });

  test("the checkout, /opt, /srv and any other top-level directory of the host are not there", async () => {
    mkdirSync(topLevel, { recursive: true });
    for (const marker of markers) writeFileSync(marker, "host-only marker");
    const r = await sh(`for f in ${markers.join(" ")}; do cat "$f" 2>/dev/null; done; ls -A / | tr '\\n' ' '; ls -A /opt /srv ${checkoutRoot} 2>&1`);
    expect(r.stdout).not.toContain("host-only marker");
    expect(r.stdout).not.toContain(markerName);
    const top = (await sh("ls -A /")).stdout.trim().split("\n");
    expect(top.filter((name) => !["bin", "bunker", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var", "workspace"].includes(name))).toEqual([]);
    expect(r.stdout).toContain(`cannot access '${checkoutRoot}'`);
  });

  test("the host's users, host name and package-manager credentials are not in /etc", async () => {
    const users = await sh("cut -d: -f1 /etc/passwd");
    expect(users.stdout).toBe("root\nnobody\n");
    const r = await sh("for f in /etc/hostname /etc/pip.conf /etc/npmrc /etc/gitconfig /etc/ssh /etc/sudoers; do test -e $f && echo $f; done; true");
    expect(r.stdout).toBe("");
  });

  test("programs still run: a shell, Python, TLS roots, name lookup of localhost", async () => {
    const r = await sh("python3 -c 'import ssl,json; print(ssl.get_default_verify_paths().cafile is not None or True)'; ls /etc/ssl/certs | head -1; id -un");
    expect(r.exit_code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("True");
    expect(r.stdout.split("\n")[2]).toBe("nobody");
  });

  test("the Bunker data directory, its database and other sandboxes' storage are not visible", async () => {
    const r = await sh(`ls -A ${dataDir}; cat ${hostSecret}; ls ${join(dataDir, "bunker.db")}; ls ${join(dataDir, "plugins", "liteboxd", "sandboxes", neighbour)}`);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain("the host's secret");
    expect(r.exit_code).not.toBe(0);
  });

  test("the sandbox runs as an unprivileged uid with no capabilities", async () => {
    const r = await sh("id -u; grep CapEff /proc/self/status");
    expect(r.stdout).toBe("65534\nCapEff:\t0000000000000000\n");
  });
});

describe("processes", () => {
  test("no host process and no process of another sandbox is visible", async () => {
    const r = await sh("ps -eo comm=");
    const names = new Set(r.stdout.trim().split("\n"));
    expect([...names].sort()).toEqual(["bwrap", "ps", "python3", "sh"]);
    const count = await sh("ls /proc | grep -cE '^[0-9]+$'");
    expect(Number(count.stdout.trim())).toBeLessThan(10);
  });
});

describe("network", () => {
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("reached") });
  });
  afterAll(() => server.stop(true));

  test("a server on the host's loopback and Bunker's own port are unreachable", async () => {
    const bunkerPort = new URL(bunker.baseUrl).port;
    for (const port of [String(server.port), bunkerPort]) {
      const r = await client.sandbox.execute(id, ["python3", "-c", `import socket\ns=socket.socket()\ns.settimeout(2)\ntry:\n  s.connect(("127.0.0.1", ${port})); print("connected")\nexcept OSError as e: print("blocked")`]);
      expect(r.stdout.trim()).toBe("blocked");
    }
  });
});

describe("network access granted", () => {
  test("a sandbox with allowInternetAccess still cannot reach Bunker's API or other host loopback services", async () => {
    await client.template.create({ name: "online", spec: { image: "host", network: { allowInternetAccess: true } } });
    const online = await client.sandbox.waitForReady((await client.sandbox.create("online")).id, { pollIntervalMs: 10 });
    const port = new URL(bunker.baseUrl).port;
    const r = await client.sandbox.execute(online.id, ["python3", "-c", `import socket\nfor h in ("127.0.0.1", "10.0.2.2"):\n  s = socket.socket(); s.settimeout(2); print(h, s.connect_ex((h, ${port})))`]);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.split(" ")[1]).not.toBe("0");
    expect((await client.sandbox.execute(online.id, ["sh", "-c", "ip -4 addr show tap0 | grep -c 10.0.2.100"])).stdout.trim()).toBe("1");
    await client.sandbox.delete(online.id);
  });
});

describe("resource exhaustion", () => {
  test("a fork bomb hits the process limit and the sandbox, its neighbour and the server recover", async () => {
    const forks = await client.sandbox.execute(id, ["python3", "-c", [
      "import os, sys, time", "n = 0",
      "try:", "  for i in range(200):", "    pid = os.fork()", "    if pid == 0:", "      time.sleep(30); os._exit(0)", "    n += 1",
      "except OSError as e:", "  print(n, e.strerror, flush=True)", "os.killpg(0, 9)",
    ].join("\n")], { timeoutMs: 10_000 });
    const [started, ...why] = forks.stdout.trim().split(" ");
    expect(Number(started)).toBeLessThan(64);
    expect(why.join(" ")).toBe("Resource temporarily unavailable");
    // The bomb's parent spins without forking, so only the exec timeout (a kill of the whole group) ends it.
    const bomb = await client.sandbox.execute(id, ["python3", "-c", "import subprocess\nsubprocess.Popen(['sh', '-c', 'b(){ b | b & }; b'])\nwhile True: pass"], { timeoutMs: 3000 });
    expect(bomb.timed_out).toBe(true);
    const alive = await eventually(async () => (await sh("echo alive", 5000).catch(() => ({ stdout: "" }))).stdout === "alive\n", "the sandbox to answer again", 10_000);
    expect(alive).toBe(true);
    expect((await client.sandbox.execute(neighbour, ["echo", "fine"])).stdout).toBe("fine\n");
  });

  test("allocating past the memory limit kills the allocator, not the sandbox or the server", async () => {
    const r = await client.sandbox.execute(id, ["python3", "-c", "a = bytearray(1024 * 1024 * 1024); print('allocated')"]);
    expect(r.stdout).not.toContain("allocated");
    expect(r.exit_code).not.toBe(0);
    expect((await sh("echo still-here")).stdout).toBe("still-here\n");
  });
});

describe("filesystem", () => {
  test("writes outside /workspace and /tmp fail", async () => {
    const r = await sh("for p in /x /etc/x /usr/bin/x /var/x /opt/x; do touch $p 2>/dev/null && echo wrote $p; done; touch /workspace/ok /tmp/ok && echo ok");
    expect(r.stdout).toBe("ok\n");
  });

  test("file-API paths with .., absolute host paths and symlinks out of the workspace are 400", async () => {
    await sh("ln -s /etc/shadow /workspace/shadow; ln -s / /workspace/root; ln -s /etc /tmp/etc");
    const attempts = ["/workspace/../etc/passwd", "/etc/passwd", "/workspace/shadow", "/workspace/root/etc/passwd", "/tmp/etc/hostname", "relative.txt"];
    for (const path of attempts) {
      const res = await fetch(`${api}/sandboxes/${id}/files?path=${encodeURIComponent(path)}`);
      expect([path, res.status]).toEqual([path, 400]);
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe("string");
    }
    for (const path of ["/workspace/../etc/evil", "/workspace/root/etc/evil", "/tmp/etc/evil", "/usr/evil"]) {
      const error = await client.sandbox.uploadFile(id, path, "evil").catch((e) => e);
      expect([path, error.statusCode]).toEqual([path, 400]);
    }
    const missing = await fetch(`${api}/sandboxes/${id}/files?path=/workspace/nope.txt`);
    expect(missing.status).toBe(404);
    // A FIFO or a directory planted where a file is expected must not hang or break the file API.
    await sh("mkfifo /workspace/fifo; mkdir -p /workspace/dir");
    for (const path of ["/workspace/fifo", "/workspace/dir"]) {
      expect((await fetch(`${api}/sandboxes/${id}/files?path=${path}`)).status).toBe(400);
      expect((await client.sandbox.uploadFile(id, path, "x").catch((e) => e)).statusCode).toBe(400);
    }
  });

  test("another user's sandbox id is not found", async () => {
    const key = await bunker.keys.create("mallory");
    const mallory = new LiteBoxdClient({ baseUrl: api, authToken: key.key });
    const error = await mallory.sandbox.execute(id, ["true"]).catch((e) => e);
    expect(error.statusCode).toBe(404);
    const anonymous = await fetch(`${api}/sandboxes`);
    expect(anonymous.status).toBe(401);
    expect(typeof ((await anonymous.json()) as { error: unknown }).error).toBe("string");
    await bunker.keys.revoke(key.info.id);
    await bunker.keys.refreshActiveCount();
  });
});
