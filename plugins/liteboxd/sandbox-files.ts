// Files in and out of a running sandbox, and the host's way to one of its ports; paths are confined by the driver,
// whose DriverPathError becomes the caller's 400/404.
import { quoted } from "bunker/core";
import { DriverPathError } from "./drivers/types";
import { errors } from "./errors";
import type { SandboxState } from "./sandbox-state";

function checkPath(path: string | undefined): string {
  if (!path) throw errors.INVALID_REQUEST("path is required");
  if (!path.startsWith("/") || path.includes("\0") || path.split("/").includes("..")) {
    throw errors.INVALID_REQUEST(`path "${quoted(path, 256)}" must be absolute and must not contain ".."`);
  }
  return path;
}

function pathError(error: unknown): never {
  if (error instanceof DriverPathError) {
    if (error.kind === "notfound") throw errors.FILE_NOT_FOUND(error.message);
    if (error.kind === "path") throw errors.INVALID_REQUEST(error.message);
    throw errors.FILE_ERROR(error.message);
  }
  throw error;
}

export function createSandboxFiles(state: SandboxState) {
  return {
    async upload(id: string, path: string | undefined, body: ReadableStream<Uint8Array>, owner: string): Promise<number> {
      const sandbox = state.running(id, await state.owned(id, owner));
      return sandbox.runtime.writeFile(checkPath(path), body).catch(pathError);
    },
    async download(id: string, path: string | undefined, owner: string): Promise<{ size: number; body: ReadableStream<Uint8Array> }> {
      const sandbox = state.running(id, await state.owned(id, owner));
      return sandbox.runtime.readFile(checkPath(path)).catch(pathError);
    },
    async portTarget(id: string, port: number, owner: string): Promise<{ host: string; port: number }> {
      const sandbox = state.running(id, await state.owned(id, owner));
      if (!sandbox.runtime.portTarget) throw errors.NOT_SUPPORTED(`the ${state.options.driver.name} driver cannot reach sandbox ports`);
      return sandbox.runtime.portTarget(port).catch(pathError);
    },
  };
}
