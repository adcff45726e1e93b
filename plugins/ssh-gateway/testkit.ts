// Test helpers: a Bunker with liteboxd and the gateway on loopback, API users, sandboxes, and the real OpenSSH
// client (ssh, scp, sftp, sshpass) run with argv arrays against it.
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBunker, type Bunker } from "bunker/core";
import { eventually } from "../../test/support/eventually";
import sshGateway from "./index";

/** liteboxd is loaded the way a deployment loads a plugin (by path), so this plugin's code never imports it. */
export const LITEBOXD_PLUGIN = join(import.meta.dir, "..", "liteboxd", "index.ts");

export interface Gw {
  bunker: Bunker;
  api: string;
  port: number;
  stop(): Promise<void>;
}

export async function bootGateway(dataDir: string, ssh: Record<string, unknown> = {}): Promise<Gw> {
  const bunker = await createBunker({
    builtins: false,
    plugins: [sshGateway],
    config: {
      extraPlugins: [LITEBOXD_PLUGIN], dataDir, log: { level: "silent" }, server: { port: 0 },
      plugins: { liteboxd: { warmPool: 2, cleanupIntervalMs: 200 }, "ssh-gateway": { port: 0, ...ssh } },
    },
  });
  await bunker.listen();
  const info = (await (await fetch(`${bunker.baseUrl}/ssh`, { headers: await anyAuth(bunker) })).json()) as { port: number };
  return { bunker, api: bunker.baseUrl, port: info.port, stop: () => bunker.stop() };
}

async function anyAuth(bunker: Bunker): Promise<HeadersInit> {
  if (!bunker.keys.hasActiveKeys()) return {};
  return { authorization: `Bearer ${(await bunker.keys.create("gateway-probe")).key}` };
}

/** An API user: their Bearer header and a fresh ed25519 key pair on disk (registered through the routes on demand). */
export interface User {
  name: string;
  headers: Record<string, string>;
  keyFile: string;
  publicKey: string;
}

export async function makeUser(gw: Gw, name: string, dir: string): Promise<User> {
  const { key } = await gw.bunker.keys.create(name);
  const keyFile = join(dir, `${name}_ed25519`);
  const gen = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `${name}@test`, "-f", keyFile]);
  if (gen.exitCode !== 0) throw new Error(`ssh-keygen failed: ${gen.stderr.toString()}`);
  chmodSync(keyFile, 0o600);
  return { name, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, keyFile, publicKey: readFileSync(`${keyFile}.pub`, "utf8") };
}

export async function call(gw: Gw, user: User, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gw.api}${path}`, { method, headers: user.headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function createSandbox(gw: Gw, user: User, template: string): Promise<{ id: string; accessToken: string }> {
  const res = await call(gw, user, "POST", "/api/v1/sandboxes", { template });
  if (res.status !== 201) throw new Error(`create sandbox: ${res.status} ${await res.text()}`);
  const sandbox = (await res.json()) as { id: string; accessToken: string };
  const status = async () => ((await (await call(gw, user, "GET", `/api/v1/sandboxes/${sandbox.id}`)).json()) as { status: string }).status;
  await eventually(async () => (await status()) === "running", `sandbox ${sandbox.id} to run`, 30_000);
  return sandbox;
}

export async function createTemplate(gw: Gw, user: User, name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await call(gw, user, "POST", "/api/v1/templates", { name, spec: { image: "host", ...spec } });
  if (res.status !== 201) throw new Error(`create template: ${res.status} ${await res.text()}`);
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Options every OpenSSH tool gets: no user config, no agent, a private known_hosts file. */
export function commonOptions(knownHosts: string): string[] {
  return ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "ConnectTimeout=10"];
}

export function keyOptions(keyFile: string): string[] {
  return ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-i", keyFile];
}

export function passwordOptions(): string[] {
  return ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1"];
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const cleanEnv = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SSH_")) env[k] = v;
  return env;
};

/** Runs a program to completion (argv, never a shell string), with an optional stdin and a hard time limit. */
export async function run(argv: string[], opts: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Ran> {
  const proc = Bun.spawn(argv, {
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe", stderr: "pipe", env: { ...cleanEnv(), ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export function spawnBackground(argv: string[]) {
  return Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: cleanEnv() });
}
