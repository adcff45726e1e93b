// Scaffolding cost: render + atomic write in-process against a plain recursive copy of the same template folder,
// and the whole bin (a new Bun process) against starting Bun with nothing to do. `bun create-agent/bench.ts`
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planFromFlags } from "../create-agent/answers";
import { parseCreateArgs } from "../create-agent/args";
import { scaffold } from "../create-agent/scaffold";
import { listTemplates } from "../create-agent/templates";

const ROUNDS = 60;
const root = mkdtempSync(join(tmpdir(), "create-agent-bench-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: (i: number) => unknown | Promise<unknown>, rounds = ROUNDS): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

try {
  console.log(`median of ${ROUNDS} rounds, ms`);
  for (const template of listTemplates()) {
    const copy = await time((i) => cpSync(template.dir, join(root, `copy-${template.name}-${i}`), { recursive: true }));
    const made = await time(async (i) => {
      const args = parseCreateArgs([join(root, `made-${template.name}-${i}`), "-t", template.name, "--author", "bench@example.com", "--no-install", "--no-git"]);
      await scaffold(planFromFlags(args, root, "bench@example.com"), { install: false, git: false, quiet: true }, root);
    });
    console.log(`${template.name.padEnd(10)} scaffold ${made.toFixed(2)}  cp -r ${copy.toFixed(2)}  ratio ${(made / copy).toFixed(2)}x`);
  }
  const spawn = (argv: string[]) => Bun.spawnSync(argv, { cwd: root, stdout: "ignore", stderr: "ignore" });
  const bare = await time(() => spawn([process.execPath, "-e", ""]), 20);
  const bin = await time((i) => spawn([process.execPath, join(import.meta.dir, "../create-agent/index.ts"), `bin-${i}`, "--author", "bench@example.com", "--no-install", "--no-git", "--no-interactive"]), 20);
  console.log(`bin end to end ${bin.toFixed(1)}  bun -e '' ${bare.toFixed(1)}  ratio ${(bin / bare).toFixed(2)}x  (median of 20)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
