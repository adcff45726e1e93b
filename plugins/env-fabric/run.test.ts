// Running code with an env's interpreter: output, exit codes, timeouts that kill the whole tree, isolation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../../test/support/eventually";
import { isolationPlugin, liteboxdPlugin, testBunker, type TestBunker } from "./test-support";

const grandchildAlive = (marker: string) => Bun.spawnSync(["pgrep", "-f", `sleep ${marker}`]).exitCode === 0;

const SPAWN_GRANDCHILD = (marker: string) =>
  `import subprocess, time\nsubprocess.Popen(["sleep", "${marker}"])\nprint("spawned", flush=True)\ntime.sleep(120)`;

for (const mode of ["isolated", "unisolated"] as const) {
  describe(`running code (${mode})`, () => {
    let tb: TestBunker;
    let available = true;
    beforeAll(async () => {
      const isolation = mode === "isolated" ? ((await liteboxdPlugin()) ?? (await isolationPlugin())) : null;
      available = mode === "unisolated" || isolation !== null;
      tb = await testBunker({ extraPlugins: isolation ? [isolation] : [] });
      const res = await tb.call("POST", "/envs", { workflow_id: "wf", node_id: "runner", packages: ["bunkerdemo-a==1.1"] });
      expect(res.status).toBe(201);
    });
    afterAll(() => tb.close());

    test("code runs with the env's packages and its output and exit code come back", async () => {
      if (!available) throw new Error("bubblewrap isolation is not available on this machine");
      const res = await tb.call("POST", "/envs/wf/runner/run", {
        code: "import sys, bunkerdemo_a\nprint(bunkerdemo_a.VERSION)\nprint('oops', file=sys.stderr)\nprint(sys.prefix)",
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ exit_code: 0, stderr: "oops\n", timed_out: false, isolated: mode === "isolated" });
      const [version, prefix] = String(res.body.stdout).trim().split("\n");
      expect(version).toBe("1.1");
      expect(prefix).toBe(join(tb.localEnvs, "wf", "runner", "v1", ".venv"));
      expect(res.body.duration_ms).toBeGreaterThanOrEqual(0);
    });

    test("a script's own non-zero exit is a normal 200 result", async () => {
      const res = await tb.call("POST", "/envs/wf/runner/run", { code: "raise SystemExit(7)" });
      expect(res.status).toBe(200);
      expect(res.body.exit_code).toBe(7);
    });

    test("a timeout kills the whole process tree and answers 504 EXECUTION_TIMEOUT", async () => {
      const marker = `${mode === "isolated" ? 271 : 272}.${process.pid}`;
      const res = await tb.call("POST", "/envs/wf/runner/run", { code: SPAWN_GRANDCHILD(marker), timeout: 1 });
      expect(res.status).toBe(504);
      expect(res.body.error.code).toBe("EXECUTION_TIMEOUT");
      expect(res.body.error.details.stdout).toContain("spawned");
      await eventually(() => !grandchildAlive(marker), "the timed-out run's grandchild to be killed", 5_000);
    });

    test("the working directory is a writable scratch directory that is removed afterwards", async () => {
      const res = await tb.call("POST", "/envs/wf/runner/run", { code: "import os\nopen('out.txt', 'w').write('x')\nprint(os.getcwd())" });
      expect(res.body.exit_code).toBe(0);
      const cwd = String(res.body.stdout).trim();
      if (mode === "isolated") expect(cwd).toBe("/workspace");
      else expect(existsSync(cwd)).toBe(false);
    });

    if (mode === "isolated") {
      test("isolated code cannot write to its env nor reach the network", async () => {
        const code = [
          "import sys, socket",
          "try:\n    open(sys.prefix + '/evil.txt', 'w')\n    print('env writable')\nexcept OSError:\n    print('env read-only')",
          "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n    print('network on')\nexcept OSError:\n    print('network off')",
        ].join("\n");
        const res = await tb.call("POST", "/envs/wf/runner/run", { code });
        expect(String(res.body.stdout).trim().split("\n")).toEqual(["env read-only", "network off"]);
        expect(existsSync(join(tb.localEnvs, "wf", "runner", "v1", ".venv", "evil.txt"))).toBe(false);
      });
    } else {
      test("without an isolation service /health says runs are not isolated", async () => {
        const health = await tb.call("GET", "/health");
        expect(health.body.warnings.map((w: { key: string }) => w.key)).toContain("env-fabric.isolation");
      });
    }
  });
}
