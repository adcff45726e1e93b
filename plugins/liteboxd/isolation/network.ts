// Outbound network for a sandbox without sharing the host's network namespace: the sandbox keeps its own namespace
// and slirp4netns (user-mode TCP/IP, sandboxed and seccomp-filtered) gives it a NATed tap0 with
// --disable-host-loopback, so the host's 127.0.0.1 services (Bunker's API among them) stay out of reach.
import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** A FIFO opened read-write: bwrap blocks on it (`--block-fd 3`) until we write one byte. */
export function openBlockFd(stateDir: string): { fd: number; release(): void } {
  const path = join(stateDir, `block-${crypto.randomUUID()}`);
  const made = Bun.spawnSync(["mkfifo", "-m", "600", path]);
  if (made.exitCode !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString().trim()}`);
  const fd = openSync(path, "r+");
  unlinkSync(path);
  let released = false;
  return {
    fd,
    release() {
      if (released) return;
      released = true;
      try {
        writeSync(fd, "1");
      } finally {
        closeSync(fd);
      }
    },
  };
}

async function poll<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

/** The first child of `pid`: bwrap's process inside the new namespaces. */
function childOf(pid: number): number | undefined {
  try {
    const first = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")[0]);
    return first > 0 ? first : undefined;
  } catch {
    return undefined;
  }
}

function hasDefaultRoute(pid: number): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/net/route`, "utf8").split("\n").some((l) => l.split("\t")[1] === "00000000") || undefined;
  } catch {
    return undefined;
  }
}

/** True once bwrap has set up the namespace's loopback (127.0.0.1 is in its routing table). bwrap does this before it
 * reads --block-fd, and slirp4netns --configure touches lo too: started earlier, the two race, and bwrap dies with
 * "loopback: Failed RTM_NEWADDR" (most network sandboxes started side by side with cgroup limits). */
function loopbackConfigured(pid: number): true | undefined {
  try {
    return readFileSync(`/proc/${pid}/net/fib_trie`, "utf8").includes("127.0.0.1") || undefined;
  } catch {
    return undefined;
  }
}

/** A pipe whose read end slirp4netns watches (`--exit-fd`): it sees EOF, and exits, when this process dies. */
function lifelinePipe(stateDir: string): { readFd: number; writeFd: number } {
  const path = join(stateDir, `exit-${crypto.randomUUID()}`);
  const made = Bun.spawnSync(["mkfifo", "-m", "600", path]);
  if (made.exitCode !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString().trim()}`);
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  unlinkSync(path);
  return { readFd, writeFd };
}

/** Wires the sandbox started as `launcherPid` to slirp4netns; resolves once tap0 is up with a function that stops it. */
export async function attachSlirp(launcherPid: number, slirpPath: string, stateDir: string, timeoutMs = 5000): Promise<() => void> {
  const child = await poll("the sandbox's namespaces", () => childOf(launcherPid), timeoutMs);
  await poll("the sandbox's loopback", () => loopbackConfigured(child), timeoutMs);
  const lifeline = lifelinePipe(stateDir);
  const slirp = Bun.spawn(
    [slirpPath, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--exit-fd=3",
      // By path, so slirp4netns does not join the sandbox's (nested) user namespace, where it would lack the rights
      // over a network namespace owned by the outer one.
      "--netns-type=path", `/proc/${child}/ns/net`, "tap0"],
    { stdio: ["ignore", "ignore", "pipe", lifeline.readFd] },
  );
  closeSync(lifeline.readFd);
  const stop = () => {
    slirp.kill();
    try {
      closeSync(lifeline.writeFd);
    } catch {
      /* closed already */
    }
  };
  try {
    await Promise.race([
      poll("slirp4netns to configure tap0", () => hasDefaultRoute(child), timeoutMs),
      slirp.exited.then(async (code) => {
        throw new Error(`slirp4netns exited with ${code}: ${(await new Response(slirp.stderr as ReadableStream<Uint8Array>).text()).trim()}`);
      }),
    ]);
  } catch (error) {
    stop();
    throw error;
  }
  return stop;
}
