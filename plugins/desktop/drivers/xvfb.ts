// Starts one Xvfb per desktop on a display number of our choosing, framebuffer exposed in a file (-fbdir).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { DesktopSpec } from "./types";

// Display numbers: Xvfb's own -displayfd search relies on the abstract socket to detect a taken number, and we turn
// that socket off (a sandbox sharing the host network could reach it); with -displayfd Xvfb also writes no lock
// file. So we pick the number (skipping socket files and abstract sockets of any X server on this host), claim it
// with the usual /tmp/.X<n>-lock created exclusively, and keep -displayfd as the readiness signal.
const FIRST_DISPLAY = 100;
const claimedDisplays = new Set<number>();

function displayInUse(n: number, abstract: Set<number>): boolean {
  return claimedDisplays.has(n) || abstract.has(n) || existsSync(`/tmp/.X11-unix/X${n}`);
}

const lockPath = (n: number) => `/tmp/.X${n}-lock`;
const lockText = (pid: number) => `${String(pid).padStart(10)}\n`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Creates the display's lock file exclusively (as X servers do); a lock whose process is gone is taken over. */
function claimLock(n: number, retry = true): boolean {
  try {
    writeFileSync(lockPath(n), lockText(process.pid), { flag: "wx", mode: 0o644 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const pid = Number.parseInt(readFileSync(lockPath(n), "utf8").trim(), 10);
    if (retry && pid > 0 && !alive(pid)) {
      rmSync(lockPath(n), { force: true });
      return claimLock(n, false);
    }
    return false;
  }
}

function abstractDisplays(): Set<number> {
  const found = new Set<number>();
  try {
    for (const m of readFileSync("/proc/net/unix", "utf8").matchAll(/@\/tmp\/\.X11-unix\/X(\d+)/g)) found.add(Number(m[1]));
  } catch {
    // no procfs: rely on the lock files
  }
  return found;
}

/** Frees a display number once its Xvfb is gone (a killed Xvfb leaves its socket file behind). */
export function releaseDisplay(n: number) {
  claimedDisplays.delete(n);
  rmSync(`/tmp/.X11-unix/X${n}`, { force: true });
  rmSync(lockPath(n), { force: true });
}

export async function startXvfb(spec: DesktopSpec, fbDir: string, timeoutMs: number): Promise<{ xvfb: Bun.Subprocess; display: number }> {
  const abstract = abstractDisplays();
  let n = FIRST_DISPLAY;
  for (let attempt = 0; attempt < 50; attempt++, n++) {
    while (displayInUse(n, abstract)) n++;
    if (!claimLock(n)) continue;
    claimedDisplays.add(n);
    const xvfb = Bun.spawn(
      ["Xvfb", `:${n}`, "-displayfd", "1", "-screen", "0", `${spec.width}x${spec.height}x24`, "-fbdir", fbDir,
        // No TCP and no abstract socket: only the socket file, which each sandbox gets bound in for its own display.
        "-nolisten", "tcp", "-nolisten", "local", "-noreset", "-dpi", "96", "-ac"],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    writeFileSync(lockPath(n), lockText(xvfb.pid));
    const outcome = await waitForDisplay(xvfb, timeoutMs);
    if (outcome === "ready") return { xvfb, display: n };
    releaseDisplay(n);
    throw new Error(`Xvfb failed to start: ${outcome}`);
  }
  throw new Error("no free X display number found");
}

/** Resolves "ready" once Xvfb writes its display number (it does so when it accepts connections), else its error. */
async function waitForDisplay(xvfb: Bun.Subprocess<"ignore", "pipe", "pipe">, timeoutMs: number): Promise<string> {
  const reader = xvfb.stdout.getReader();
  let text = "";
  const timer = setTimeout(() => xvfb.kill("SIGKILL"), timeoutMs);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        const stderr = await new Response(xvfb.stderr).text();
        const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && l !== "(EE)");
        return lines.slice(-3).join(" ") || "Xvfb exited";
      }
      text += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  void xvfb.stdout.cancel().catch(() => undefined);
  void xvfb.stderr.cancel().catch(() => undefined);
  return "ready";
}
