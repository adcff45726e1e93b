// The gateway end to end with the real OpenSSH client: shell through a PTY, exec and exit codes, scp both ways
// (SFTP-based and legacy), sftp, confinement, -L forwarding, every refusal, sessions ending on delete, and events.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  bootGateway, call, commonOptions, createSandbox, createTemplate, keyOptions, makeUser, passwordOptions, run,
  spawnBackground, tempDir, type Gw, type User,
} from "./testkit";
import { eventually } from "../../test/support/eventually";

const dir = tempDir("ssh-gateway-e2e-");
const dataDir = join(dir, "data");
const knownHosts = join(dir, "known_hosts");
let gw: Gw;
let alice: User;
let bob: User;
let box: { id: string; accessToken: string };
let web: { id: string; accessToken: string };

const target = (id: string) => [`-p`, String(gw.port), `${id}@127.0.0.1`];
const sshKey = (user: User, id: string, ...command: string[]) =>
  run(["ssh", ...commonOptions(knownHosts), ...keyOptions(user.keyFile), ...target(id), "--", ...command]);
const sshPassword = (password: string, id: string, ...command: string[]) =>
  run(["sshpass", "-p", password, "ssh", ...commonOptions(knownHosts), ...passwordOptions(), ...target(id), "--", ...command]);
const scpKey = (user: User, ...args: string[]) =>
  run(["scp", ...commonOptions(knownHosts), ...keyOptions(user.keyFile), "-P", String(gw.port), ...args]);
const sftpBatch = (user: User, id: string, batch: string) =>
  run(["sftp", ...commonOptions(knownHosts), ...keyOptions(user.keyFile), "-P", String(gw.port), "-b", "-", `${id}@127.0.0.1`], { stdin: batch });
const events = async (id: string) =>
  ((await (await call(gw, alice, "GET", `/api/v1/sandboxes/${id}/logs`)).json()) as { events: string[] }).events;

beforeAll(async () => {
  mkdirSync(dataDir);
  gw = await bootGateway(dataDir);
  alice = await makeUser(gw, "alice", dir);
  bob = await makeUser(gw, "bob", dir);
  for (const user of [alice, bob]) expect((await call(gw, user, "POST", "/ssh/keys", { publicKey: user.publicKey })).status).toBe(201);
  await createTemplate(gw, alice, "box", {});
  await createTemplate(gw, alice, "web", {
    command: ["python3", "-m", "http.server", "8080", "--bind", "127.0.0.1", "--directory", "/workspace"],
    readinessProbe: { exec: { command: ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8080))"] }, periodSeconds: 0, failureThreshold: 100 },
    files: [{ destination: "/workspace/index.html", content: "<h1>inside the sandbox</h1>" }],
  });
  [box, web] = await Promise.all([createSandbox(gw, alice, "box"), createSandbox(gw, alice, "web")]);
});

afterAll(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("running commands over ssh", () => {
  test("a command runs inside the sandbox and its output and exit code come back", async () => {
    const r = await sshKey(alice, box.id, "ls / && pwd && id -u && echo oops >&2 && exit 7");
    expect(r.code).toBe(7);
    expect(r.stdout).toContain("workspace\n");
    expect(r.stdout).toContain("/workspace\n65534\n");
    expect(r.stderr).toContain("oops");
  });

  test("the sandbox's access token works as the password", async () => {
    const r = await sshPassword(box.accessToken, box.id, "echo $((6 * 7))");
    expect(r).toMatchObject({ code: 0, stdout: "42\n" });
  });

  test("stdin reaches the command and its end is seen", async () => {
    const r = await run(["ssh", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), ...target(box.id), "--", "wc -c"], { stdin: "x".repeat(100_000) });
    expect(r).toMatchObject({ code: 0, stdout: "100000\n" });
  });
  test("an RSA key registered by the owner logs in as well", async () => {
    const rsa = join(dir, "alice_rsa");
    Bun.spawnSync(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa]);
    expect((await call(gw, alice, "POST", "/ssh/keys", { publicKey: readFileSync(`${rsa}.pub`, "utf8"), name: "rsa" })).status).toBe(201);
    const r = await run(["ssh", ...commonOptions(knownHosts), ...keyOptions(rsa), ...target(box.id), "--", "echo rsa ok"]);
    expect(r).toMatchObject({ code: 0, stdout: "rsa ok\n" });
  });

  test("when the client goes away, its command is killed", async () => {
    const ssh = spawnBackground(["ssh", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), ...target(box.id), "--",
      "echo $$ > /workspace/orphan.pid; exec sleep 60"]);
    await eventually(async () => /^\d+\n$/.test((await sshKey(alice, box.id, "cat /workspace/orphan.pid")).stdout), "the command's pid file", 10_000);
    ssh.kill("SIGKILL");
    await ssh.exited;
    const check = await eventually(async () => {
      const r = await sshKey(alice, box.id, "kill -0 $(cat /workspace/orphan.pid) 2>/dev/null && echo alive || echo gone");
      return r.stdout === "gone\n" && r;
    }, "the abandoned command to be killed", 10_000);
    expect(check.stdout).toBe("gone\n");
  });
});

describe("an interactive shell through a PTY", () => {
  const tmux = (...args: string[]) => run(["tmux", "-L", `gw-${process.pid}`, "-f", "/dev/null", ...args]);
  const screen = async () => (await tmux("capture-pane", "-p", "-J", "-t", "shell")).stdout;

  afterAll(async () => {
    await tmux("kill-server");
  });

  test("the shell has a terminal, follows a resize and returns the exit code", async () => {
    const codeFile = join(dir, "shell-exit-code");
    const ssh = ["ssh", "-tt", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), ...target(box.id)];
    // tmux gives ssh a real terminal; the exit code lands in a file once ssh ends.
    const wrapped = `${ssh.map((a) => `'${a}'`).join(" ")}; echo $? > '${codeFile}'; sleep 60`;
    expect((await tmux("new-session", "-d", "-s", "shell", "-x", "100", "-y", "30", "sh", "-c", wrapped)).code).toBe(0);
    await tmux("send-keys", "-t", "shell", "tty; stty size; echo ready-$((40 + 2))", "Enter");
    const first = await eventually(async () => { const s = await screen(); return s.includes("ready-42") && s; }, "the shell's first answer", 15_000);
    expect(first).toMatch(/\/dev\/pts\/\d+/);
    expect(first).toContain("30 100");

    await tmux("resize-window", "-t", "shell", "-x", "120", "-y", "40");
    await tmux("send-keys", "-t", "shell", "clear; stty size; echo resized-$((1 + 1))", "Enter");
    const second = await eventually(async () => { const s = await screen(); return s.includes("resized-2") && s; }, "the answer after the resize", 15_000);
    expect(second).toContain("40 120");

    await tmux("send-keys", "-t", "shell", "exit 5", "Enter");
    const code = await eventually(() => { try { return readFileSync(codeFile, "utf8").trim(); } catch { return ""; } }, "ssh's exit code", 15_000);
    expect(code).toBe("5");
  });
});

describe("files over scp and sftp", () => {
  test("scp copies a file into the sandbox and back out, byte for byte", async () => {
    const local = join(dir, "payload.bin");
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    writeFileSync(local, payload);
    const up = await scpKey(alice, local, `${box.id}@127.0.0.1:/workspace/`);
    expect(up.code).toBe(0);
    expect((await sshKey(alice, box.id, "wc -c < /workspace/payload.bin")).stdout.trim()).toBe("300000");
    const back = join(dir, "payload.back");
    expect((await scpKey(alice, `${box.id}@127.0.0.1:/workspace/payload.bin`, back)).code).toBe(0);
    expect(new Uint8Array(readFileSync(back))).toEqual(payload);
  });

  test("legacy scp (scp -O, the scp protocol over exec) works both ways too", async () => {
    const local = join(dir, "legacy.txt");
    writeFileSync(local, "sent with scp -O\n");
    expect((await scpKey(alice, "-O", local, `${box.id}@127.0.0.1:/workspace/legacy.txt`)).code).toBe(0);
    const back = join(dir, "legacy.back");
    expect((await scpKey(alice, "-O", `${box.id}@127.0.0.1:/workspace/legacy.txt`, back)).code).toBe(0);
    expect(readFileSync(back, "utf8")).toBe("sent with scp -O\n");
  });

  test("sftp lists the sandbox's workspace and starts in it", async () => {
    await sshKey(alice, box.id, "mkdir -p /workspace/listing && touch /workspace/listing/a.txt /workspace/listing/b.txt");
    const r = await sftpBatch(alice, box.id, "pwd\nls -1 listing\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Remote working directory: /workspace");
    expect(r.stdout).toMatch(/listing\/a\.txt\s+listing\/b\.txt|a\.txt[\s\S]*b\.txt/);
  });

  test("paths outside the sandbox are refused: the host's files are not there and its system is read-only", async () => {
    const secretDir = tempDir("ssh-gateway-host-secret-");
    writeFileSync(join(secretDir, "secret.txt"), "host only");
    try {
      const get = await sftpBatch(alice, box.id, `get ${join(secretDir, "secret.txt")} ${join(dir, "stolen.txt")}\n`);
      expect(get.code).not.toBe(0);
      expect(get.stderr).toMatch(/not found|No such file/i);
      const put = await scpKey(alice, join(dir, "legacy.txt"), `${box.id}@127.0.0.1:/usr/bin/planted`);
      expect(put.code).not.toBe(0);
      expect(put.stderr).toMatch(/Permission denied|Read-only|Failure/i);
      const data = await sftpBatch(alice, box.id, `ls ${dataDir}\n`);
      expect(data.stdout).not.toContain("ssh_host_ed25519_key");
    } finally {
      rmSync(secretDir, { recursive: true, force: true });
    }
  });
});

describe("port forwarding with ssh -L", () => {
  test("a local port reaches a server listening on the sandbox's own loopback", async () => {
    const free = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const localPort = free.port;
    free.stop(true);
    const ssh = spawnBackground(["ssh", "-N", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), "-o", "ExitOnForwardFailure=yes",
      "-L", `${localPort}:localhost:8080`, ...target(web.id)]);
    try {
      const page = await eventually(() => fetch(`http://127.0.0.1:${localPort}/index.html`).then((r) => r.text(), () => ""), "the forwarded page", 15_000);
      expect(page).toBe("<h1>inside the sandbox</h1>");
    } finally {
      ssh.kill();
      await ssh.exited;
    }
  });

  test("forwarding to any other host is refused", async () => {
    const r = await run(["ssh", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), "-W", "10.0.2.2:80", ...target(web.id)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/open failed|administratively prohibited|Connect failed/i);
  });
});

describe("who gets in", () => {
  test("a wrong access token is refused", async () => {
    const r = await sshPassword("not-the-token", box.id, "echo in");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
  });

  test("another user's key is refused, even though it is registered", async () => {
    const r = await sshKey(bob, box.id, "echo in");
    expect(r.code).toBe(255);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Permission denied");
  });

  test("an unknown sandbox is refused, and a token only opens its own sandbox", async () => {
    const unknown = await sshKey(alice, "nosuchbox", "echo in");
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toContain("Permission denied");
    const crossed = await sshPassword(box.accessToken, web.id, "echo in");
    expect(crossed.code).not.toBe(0);
    expect(crossed.stdout).toBe("");
  });

  test("a deleted sandbox is refused", async () => {
    const gone = await createSandbox(gw, alice, "box");
    expect((await sshKey(alice, gone.id, "true")).code).toBe(0);
    expect((await call(gw, alice, "DELETE", `/api/v1/sandboxes/${gone.id}`)).status).toBeLessThan(300);
    const byKey = await sshKey(alice, gone.id, "echo in");
    expect(byKey.code).toBe(255);
    const byToken = await sshPassword(gone.accessToken, gone.id, "echo in");
    expect(byToken.code).not.toBe(0);
    expect(byToken.stdout + byKey.stdout).toBe("");
  });

  test("pausing closes open sessions; a paused sandbox is refused with a message saying so, and works again once resumed", async () => {
    const sleepy = await createSandbox(gw, alice, "box");
    const open = spawnBackground(["ssh", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), ...target(sleepy.id), "--", "echo started; exec sleep 60"]);
    expect(new TextDecoder().decode((await open.stdout.getReader().read()).value)).toBe("started\n");
    expect((await call(gw, alice, "POST", `/api/v1/sandboxes/${sleepy.id}/pause`)).status).toBe(200);
    expect(await Promise.race([open.exited, Bun.sleep(10_000).then(() => "still running")])).toBe(255);
    expect(await new Response(open.stderr).text()).toContain(`sandbox ${sleepy.id} is paused: connection closed`);

    const byKey = await sshKey(alice, sleepy.id, "echo in");
    expect(byKey.code).toBe(255);
    expect(byKey.stderr).toContain(`sandbox ${sleepy.id} is paused`);
    const byToken = await sshPassword(sleepy.accessToken, sleepy.id, "echo in");
    expect(byToken.code).not.toBe(0);
    expect(byToken.stderr).toContain("is paused");
    expect((await call(gw, alice, "POST", `/api/v1/sandboxes/${sleepy.id}/resume`)).status).toBe(200);
    expect(await sshKey(alice, sleepy.id, "echo in")).toMatchObject({ code: 0, stdout: "in\n" });
    await call(gw, alice, "DELETE", `/api/v1/sandboxes/${sleepy.id}`);
  });
});

describe("sessions end with the sandbox", () => {
  test("deleting the sandbox closes an open session with a message", async () => {
    const doomed = await createSandbox(gw, alice, "box");
    const ssh = spawnBackground(["ssh", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), ...target(doomed.id), "--", "echo started; exec sleep 60"]);
    const reader = ssh.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("started\n");
    expect((await call(gw, alice, "DELETE", `/api/v1/sandboxes/${doomed.id}`)).status).toBeLessThan(300);
    const code = await Promise.race([ssh.exited, Bun.sleep(10_000).then(() => "still running")]);
    expect(code).not.toBe("still running");
    expect(code).not.toBe(0);
    expect(await new Response(ssh.stderr).text()).toContain(`sandbox ${doomed.id} was deleted`);
  });
  test("a session streaming output is closed cleanly too, and the gateway keeps serving", async () => {
    const doomed = await createSandbox(gw, alice, "box");
    const ssh = spawnBackground(["ssh", ...commonOptions(knownHosts), ...keyOptions(alice.keyFile), ...target(doomed.id), "--", "echo started; yes"]);
    let received = 0;
    const drained = (async () => {
      const reader = ssh.stdout.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length;
    })();
    await eventually(() => received > 1_000_000, "a megabyte of output", 10_000);
    expect((await call(gw, alice, "DELETE", `/api/v1/sandboxes/${doomed.id}`)).status).toBeLessThan(300);
    expect(await Promise.race([ssh.exited, Bun.sleep(10_000).then(() => "still running")])).not.toBe("still running");
    await drained;
    expect(await new Response(ssh.stderr).text()).toContain(`sandbox ${doomed.id} was deleted`);
    expect(await sshKey(alice, box.id, "echo still serving")).toMatchObject({ code: 0, stdout: "still serving\n" });
  });
});

describe("the sandbox's events", () => {
  test("every login, command, file transfer and forward is recorded", async () => {
    const boxEvents = (await events(box.id)).join("\n");
    expect(boxEvents).toContain("[Normal] SSHLogin: user alice from 127.0.0.1 (public key SHA256:");
    expect(boxEvents).toContain("SSHLogin: user alice from 127.0.0.1 (access token)");
    expect(boxEvents).toContain("SSHCommand: ls / && pwd");
    expect(boxEvents).toMatch(/SSHShell: interactive shell \(pty \S+ 100x30\)/);
    expect(boxEvents).toContain("SFTPUpload: /workspace/payload.bin (300000 bytes)");
    expect(boxEvents).toContain("SFTPDownload: /workspace/payload.bin (300000 bytes)");
    expect(boxEvents).toMatch(/SCPUpload: scp .*-t .*\/workspace\/legacy\.txt/);
    expect(boxEvents).toMatch(/SCPDownload: scp .*-f .*\/workspace\/legacy\.txt/);
    expect(boxEvents).toContain("SSHLogout: user alice");
    expect(boxEvents).toContain("[Warning] SSHLoginFailed: wrong access token");
    expect((await events(web.id)).join("\n")).toMatch(/SSHForward: port 8080 forwarded/);
  });
});
