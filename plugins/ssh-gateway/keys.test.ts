// The public-key routes under /ssh (through bunker.handle), and the gateway staying off without a port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import { utils } from "ssh2";
import sshGateway from "./index";
import { fingerprintOf, parsePublicKey } from "./keys";
import { LITEBOXD_PLUGIN, tempDir } from "./testkit";

const dir = tempDir("ssh-gateway-keys-");
let bunker: Bunker;
let alice: string;
let bob: string;

const request = (key: string, method: string, path: string, body?: unknown) =>
  bunker.handle(new Request(`http://localhost${path}`, {
    method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));

function keygen(comment: string): string {
  const file = join(dir, comment);
  Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return readFileSync(`${file}.pub`, "utf8");
}

beforeAll(async () => {
  bunker = await createBunker({
    builtins: false, plugins: [sshGateway],
    config: { extraPlugins: [LITEBOXD_PLUGIN], dataDir: join(dir, "data"), log: { level: "silent" }, plugins: { liteboxd: { warmPool: 0 } } },
  });
  alice = (await bunker.keys.create("alice")).key;
  bob = (await bunker.keys.create("bob")).key;
});
afterAll(async () => {
  await bunker.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a user's SSH public keys", () => {
  test("a key is added, listed with its OpenSSH fingerprint and removed", async () => {
    const line = keygen("alice@laptop");
    const fingerprint = Bun.spawnSync(["ssh-keygen", "-l", "-f", join(dir, "alice@laptop.pub")]).stdout.toString().split(" ")[1];
    const added = await request(alice, "POST", "/ssh/keys", { publicKey: line });
    expect(added.status).toBe(201);
    const key = (await added.json()) as { id: string; name: string; type: string; fingerprint: string; publicKey: string };
    expect(key).toMatchObject({ name: "alice@laptop", type: "ssh-ed25519", fingerprint });
    expect(line.startsWith(key.publicKey)).toBe(true);

    const listed = (await (await request(alice, "GET", "/ssh/keys")).json()) as { keys: Array<{ id: string }> };
    expect(listed.keys.map((k) => k.id)).toEqual([key.id]);
    expect((await request(alice, "DELETE", `/ssh/keys/${key.id}`)).status).toBe(204);
    expect(((await (await request(alice, "GET", "/ssh/keys")).json()) as { keys: unknown[] }).keys).toEqual([]);
  });

  test("a name can be given, and the same key twice is a conflict", async () => {
    const line = keygen("twice");
    expect((await request(alice, "POST", "/ssh/keys", { publicKey: line, name: "work laptop" })).status).toBe(201);
    const again = await request(alice, "POST", "/ssh/keys", { publicKey: line });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("KEY_EXISTS");
  });

  test("another user neither sees nor removes my keys", async () => {
    const mine = (await (await request(alice, "POST", "/ssh/keys", { publicKey: keygen("private-to-alice") })).json()) as { id: string };
    const theirs = (await (await request(bob, "GET", "/ssh/keys")).json()) as { keys: Array<{ id: string }> };
    expect(theirs.keys.some((k) => k.id === mine.id)).toBe(false);
    const removed = await request(bob, "DELETE", `/ssh/keys/${mine.id}`);
    expect(removed.status).toBe(404);
    expect(((await removed.json()) as { error: { code: string } }).error.code).toBe("KEY_NOT_FOUND");
  });

  test("a private key or garbage is rejected and never stored", async () => {
    const privateKey = utils.generateKeyPairSync("ed25519").private;
    const sentPrivate = await request(alice, "POST", "/ssh/keys", { publicKey: privateKey });
    expect(sentPrivate.status).toBe(400);
    expect(((await sentPrivate.json()) as { error: { code: string } }).error.code).toBe("PRIVATE_KEY_SENT");
    const garbage = await request(alice, "POST", "/ssh/keys", { publicKey: "ssh-ed25519 not-base64-at-all!!" });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe("INVALID_PUBLIC_KEY");
    expect((await request(alice, "POST", "/ssh/keys", {})).status).toBe(400);
  });

  test("an RSA key is accepted too, with the fingerprint ssh-keygen prints", async () => {
    const file = join(dir, "rsa");
    Bun.spawnSync(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "rsa", "-f", file]);
    const parsed = parsePublicKey(readFileSync(`${file}.pub`, "utf8"));
    const expected = Bun.spawnSync(["ssh-keygen", "-l", "-f", `${file}.pub`]).stdout.toString().split(" ")[1];
    expect(parsed.type).toBe("ssh-rsa");
    expect(parsed.fingerprint).toBe(expected!);
    expect(fingerprintOf(parsed.blob)).toBe(expected!);
  });
});

describe("the gateway without a port", () => {
  test("stays off and says how to turn it on", async () => {
    const info = (await (await request(alice, "GET", "/ssh")).json()) as { enabled: boolean; port: number | null; hostKey: unknown; usage: string };
    expect(info).toMatchObject({ enabled: false, port: null, hostKey: null });
    expect(info.usage).toContain("plugins.ssh-gateway.port");
  });
});
