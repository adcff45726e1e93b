// Builds a small OCI image offline for tests and the benchmark: Debian's busybox-static as layer 1, a file in /etc
// as layer 2, packed with umoci and written as an OCI archive by skopeo. No network involved.
import { mkdirSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from "node:fs";
import { join } from "node:path";

const BUSYBOX = "/bin/busybox";
const APPLETS = ["sh", "ls", "cat", "echo", "sleep", "true", "false", "id", "touch", "mkdir", "rm", "ps", "kill", "test", "wc", "grep", "env", "stty"];

async function sh(argv: string[]) {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed: ${err}`);
}

/** Writes `<dir>/busybox.tar` (an OCI archive, tag "latest") and returns its path. */
export async function buildBusyboxArchive(dir: string): Promise<string> {
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  await sh(["umoci", "init", "--layout", layout]);
  await sh(["umoci", "new", "--image", `${layout}:latest`]);
  await sh(["umoci", "unpack", "--image", `${layout}:latest`, bundle]);
  const root = join(bundle, "rootfs");
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
  chmodSync(join(root, "bin", "busybox"), 0o755);
  for (const a of APPLETS) symlinkSync("busybox", join(root, "bin", a));
  await sh(["umoci", "repack", "--image", `${layout}:latest`, bundle]);
  // A fresh bundle from the new manifest, so the next repack adds a second layer.
  const bundle2 = join(dir, "bundle2");
  await sh(["umoci", "unpack", "--image", `${layout}:latest`, bundle2]);
  mkdirSync(join(bundle2, "rootfs", "etc"), { recursive: true });
  writeFileSync(join(bundle2, "rootfs", "etc", "hello"), "from the busybox image\n");
  await sh(["umoci", "repack", "--image", `${layout}:latest`, bundle2]);
  await sh(["umoci", "config", "--image", `${layout}:latest`, "--config.env", "PATH=/bin", "--config.env", "IMAGE_FLAVOUR=busybox"]);
  const archive = join(dir, "busybox.tar");
  await sh(["skopeo", "copy", "--insecure-policy", `oci:${layout}:latest`, `oci-archive:${archive}:latest`]);
  return archive;
}
