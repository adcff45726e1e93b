// `bunker/agent` as a self-contained package for agent templates: agent.ts and what it imports, bundled into one ESM
// file, so a sandbox (which sees no host path, and no Bunker checkout) resolves `import ... from "bunker/agent"`.
import { join } from "node:path";

/** Where the package goes in a template. */
const PACKAGE_DIR = "/workspace/node_modules/bunker";

/** Bundles agent.ts with Bun.build (target bun, ESM). Types are not shipped: the package is only run, never checked. */
async function build(): Promise<{ destination: string; content: string }[]> {
  const built = await Bun.build({ entrypoints: [join(import.meta.dir, "agent.ts")], target: "bun", format: "esm" });
  const [output] = built.outputs;
  if (!built.success || !output) {
    throw new Error(`bundling bunker/agent failed: ${built.logs.map((log) => String(log)).join("; ") || "no output"}`);
  }
  const manifest = { name: "bunker", private: true, type: "module", exports: { "./agent": "./agent.js" } };
  return [
    { destination: `${PACKAGE_DIR}/package.json`, content: `${JSON.stringify(manifest)}\n` },
    { destination: `${PACKAGE_DIR}/agent.js`, content: await output.text() },
  ];
}

let pending: ReturnType<typeof build> | undefined;

/** The package's template files, built on first use and kept for the server's lifetime (the source does not change
 * while it runs). */
export const agentPackage = () => (pending ??= build());
