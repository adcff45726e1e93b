// `bunker/agent` as a self-contained package for agent templates: agent.ts and what it imports, bundled into one ESM
// file, so a sandbox (which sees no host path, and no Bunker checkout) resolves `import ... from "bunker/agent"`.
import { join } from "node:path";

/** One file of the package, relative to the project root (/workspace in a sandbox). */
export interface AgentPackageFile {
  path: string;
  content: string;
}

const PACKAGE_DIR = "node_modules/bunker";

/** Bundles agent.ts with Bun.build (target bun, ESM). Types are not shipped: the package is only run, never checked. */
export async function buildAgentPackage(): Promise<AgentPackageFile[]> {
  const built = await Bun.build({ entrypoints: [join(import.meta.dir, "agent.ts")], target: "bun", format: "esm" });
  const [output] = built.outputs;
  if (!built.success || !output) {
    throw new Error(`bundling bunker/agent failed: ${built.logs.map((log) => String(log)).join("; ") || "no output"}`);
  }
  const manifest = { name: "bunker", private: true, type: "module", exports: { "./agent": "./agent.js" } };
  return [
    { path: `${PACKAGE_DIR}/package.json`, content: `${JSON.stringify(manifest)}\n` },
    { path: `${PACKAGE_DIR}/agent.js`, content: await output.text() },
  ];
}

/** The package built on first use and kept for the server's lifetime (the source does not change while it runs);
 * a failed build is retried on the next call. */
export function agentPackageCache(build: () => Promise<AgentPackageFile[]> = buildAgentPackage): () => Promise<AgentPackageFile[]> {
  let pending: Promise<AgentPackageFile[]> | undefined;
  return () => {
    pending ??= build().catch((error) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
