// The execution API, run once per executor: the same behaviour in-process, in a worker, and in a sandboxed worker.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Bunker } from "bunker/core";
import { hostname } from "node:os";
import { join } from "node:path";
import { eventually } from "../../test/support/eventually";
import { call, calcBunker, cancel, EXECUTOR_VARIANTS, makeSafeDir, resume, start, status } from "./testing";

describe.each(EXECUTOR_VARIANTS)("$name", (variant) => {
  let dir: ReturnType<typeof makeSafeDir>;
  let bunker: Bunker;
  const run = (func_name: string, extra: Record<string, unknown> = {}) => start(bunker, { file_path: dir.sheet, func_name, ...extra });

  beforeAll(async () => {
    dir = makeSafeDir();
    bunker = await calcBunker(variant, join(dir.root, "data"), { safeDirs: [dir.safe], stepTimeoutMs: 1500 });
    await bunker.start();
  });

  afterAll(async () => {
    await bunker.stop();
    dir.cleanup();
  });

  describe("running a sheet across windows", () => {
    test("start runs to the first window, each resume to the next, and the last one completes with the result", async () => {
      const first = await run("survey", { params: { who: "Ada's team" } });
      expect(first.status).toBe(200);
      expect(first.body.status).toBe("waiting_input");
      expect(first.body.ui.title).toBe("About you");
      expect(first.body.ui.fields.map((f: { type: string }) => f.type)).toEqual(["text", "number", "selectOne", "boolean"]);
      expect(first.body.ui.fields[1]).toMatchObject({ name: "age", min: 0, max: 150, unit: "years", required: false });
      const id = first.body.session_id;

      const second = await resume(bunker, id, { name: "Ada", age: "36", color: "blue", subscribe: true });
      expect(second.body).toMatchObject({ status: "waiting_input", ui_steps: 1, ui: { title: "More" } });

      const done = await resume(bunker, id, { tags: ["b", "a"], bio: "<script>x</script>" });
      expect(done.body.status).toBe("completed");
      expect(done.body.ui).toBeUndefined();
      expect(done.body.result).toEqual({ name: "Ada", age: 36, color: "blue", subscribe: true, tags: ["b", "a"], bio: "<script>x</script>" });
      expect((await status(bunker, id)).body.status).toBe("completed");
    });

    test("HTML yielded between windows accumulates in order, with interpolated values escaped", async () => {
      const first = await run("survey", { params: { who: "<b>x</b>" } });
      expect(first.body.html).toBe("<h1>Survey for &lt;b&gt;x&lt;/b&gt;</h1>");
      const id = first.body.session_id;
      const second = await resume(bunker, id, { name: "Bo" });
      expect(second.body.html).toBe(
        "<h1>Survey for &lt;b&gt;x&lt;/b&gt;</h1><p>Hello Bo, ? years, likes green.</p><p>plain text &lt;is&gt; escaped</p>",
      );
      const done = await resume(bunker, id, { bio: "<i>hi</i>" });
      expect(done.body.html.endsWith("<p>Tags: ; bio: &lt;i&gt;hi&lt;/i&gt;</p>")).toBe(true);
    });

    test("a sheet without windows completes on start", async () => {
      const r = await run("echo", { params: { a: 1 } });
      expect(r.body).toMatchObject({ status: "completed", html: "<p>echo</p>", result: { a: 1 } });
    });

    test("many sessions run side by side without mixing their inputs", async () => {
      const started = await Promise.all([1, 2, 3, 4, 5].map((i) => run("slow", { params: { ms: 20 * i } })));
      const done = await Promise.all(started.map((r, i) => resume(bunker, r.body.session_id, { n: i })));
      expect(done.map((r) => r.body.result)).toEqual([0, 1, 2, 3, 4]);
    });

    test("a chosen session_id is used, and starting it twice is 409", async () => {
      const id = `chosen-${variant.executor}-${variant.sandbox}`;
      expect((await run("guarded", { session_id: id })).body.session_id).toBe(id);
      const again = await run("guarded", { session_id: id });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe("SESSION_EXISTS");
    });
  });

  describe("input validation", () => {
    test("a bad input is 400 with a message per field, and the session keeps waiting with nothing lost", async () => {
      const first = await run("survey");
      const id = first.body.session_id;
      const bad = await resume(bunker, id, { age: 200, color: "purple", subscribe: "maybe", extra: 1 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("INVALID_INPUT");
      expect(Object.keys(bad.body.error.details.fields).sort()).toEqual(["age", "color", "extra", "name", "subscribe"]);
      expect(bad.body.error.details.fields.name).toBe("Name is required");
      expect(bad.body.error.details.fields.age).toBe("Age must be at most 150");

      const still = await status(bunker, id);
      expect(still.body).toMatchObject({ status: "waiting_input", ui_steps: 0, html: first.body.html, ui: { title: "About you" } });
      const ok = await resume(bunker, id, { name: "Cy" });
      expect(ok.body.status).toBe("waiting_input");
      expect(ok.body.ui.title).toBe("More");
    });

    test("a malformed request body is 400 before it reaches the session", async () => {
      const r = await call(bunker, "POST", "/v1/calc/execution/resume", { session_id: "x" });
      expect(r.status).toBe(400);
    });
  });

  describe("one step at a time", () => {
    test("a second resume while the first is running is 409 and the first completes", async () => {
      const first = await run("slow", { params: { ms: 300 } });
      const id = first.body.session_id;
      const firstStep = resume(bunker, id, { n: 1 });
      await eventually(async () => (await status(bunker, id)).body.status === "running", "the first resume to be running");
      const b = await resume(bunker, id, { n: 2 });
      expect((await firstStep).body).toMatchObject({ status: "completed", result: 1 });
      expect(b.status).toBe(409);
      expect(b.body.error.code).toBe("SESSION_BUSY");
    });

    test("resuming a finished session is 409", async () => {
      const done = await run("echo");
      const again = await resume(bunker, done.body.session_id, {});
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe("SESSION_NOT_WAITING");
    });
  });

  describe("cancel", () => {
    test("cancel closes the generator so its finally block runs, and the session ends cancelled", async () => {
      const first = await run("guarded");
      const r = await cancel(bunker, first.body.session_id);
      expect(r.body.status).toBe("cancelled");
      expect(r.body.html).toBe("<p>started</p><p>cleanup ran</p>");
      expect((await status(bunker, first.body.session_id)).body.status).toBe("cancelled");
      expect((await resume(bunker, first.body.session_id, { x: 1 })).status).toBe(409);
    });

    test("cancel during a running step answers cancelled at once, and the step's end closes the generator", async () => {
      const first = await run("slow", { params: { ms: 300 } });
      const id = first.body.session_id;
      const step = resume(bunker, id, { n: 7 });
      await eventually(async () => (await status(bunker, id)).body.status === "running", "the step to be running");
      const c = await cancel(bunker, id);
      expect(c.body.status).toBe("cancelled");
      expect((await step).body.status).toBe("cancelled");
      const after = await status(bunker, id);
      expect(after.body.status).toBe("cancelled");
      expect(after.body.html).toContain("slept, n=7");
      expect((await resume(bunker, id, { n: 8 })).status).toBe(409);
    });

    test("an unknown session is 404", async () => {
      expect((await cancel(bunker, "no-such-session")).status).toBe(404);
      expect((await status(bunker, "no-such-session")).body.error.code).toBe("SESSION_NOT_FOUND");
    });
  });

  describe("sheet failures", () => {
    test("an exception becomes status error with its message; the report so far is kept and the server carries on", async () => {
      const r = await run("failing");
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: "error", error: "the load case is impossible", html: "<p>before the failure</p>" });
      expect(r.body.error_stack).toBeUndefined();
      expect((await run("echo")).body.status).toBe("completed");
    });

    test("yielding something that is neither HTML nor a window is an error", async () => {
      const r = await run("weird");
      expect(r.body.status).toBe("error");
      expect(r.body.error).toContain("yielded");
    });

    test("a window with an unknown field type is an error naming the field", async () => {
      const r = await run("badWindow");
      expect(r.body.status).toBe("error");
      expect(r.body.error).toContain('field "x" has unknown type');
    });

    test("a step that never finishes hits the run-time limit and becomes an error", async () => {
      const first = await run("hang");
      const r = await resume(bunker, first.body.session_id, {});
      expect(r.body.status).toBe("error");
      expect(r.body.error).toContain("longer than 1500 ms");
    });

    if (variant.executor === "isolated") {
      test("a synchronous endless loop stops only its worker; other waiting sessions resume by replay", async () => {
        const other = await run("survey", { params: { who: "bystander" } });
        await resume(bunker, other.body.session_id, { name: "Dee" });
        const first = await run("spin");
        const r = await resume(bunker, first.body.session_id, {});
        expect(r.body.status).toBe("error");
        expect(r.body.error).toContain("worker was stopped");
        const done = await resume(bunker, other.body.session_id, { tags: ["a"] });
        expect(done.body.status).toBe("completed");
        expect(done.body.result).toMatchObject({ name: "Dee", tags: ["a"] });
        expect(done.body.html.match(/Survey for bystander/g)).toHaveLength(1);
      });
    }
  });

  describe("module loading", () => {
    test("paths outside the safe directories are refused with 403", async () => {
      const { mkdirSync, symlinkSync, writeFileSync } = await import("node:fs");
      const sibling = `${dir.safe}2`;
      mkdirSync(sibling, { recursive: true });
      writeFileSync(join(sibling, "evil.ts"), "export async function* evil() {}");
      mkdirSync(join(dir.root, "outside"), { recursive: true });
      writeFileSync(join(dir.root, "outside", "evil.ts"), "export async function* evil() {}");
      symlinkSync(join(dir.root, "outside", "evil.ts"), join(dir.safe, `link-${variant.executor}-${variant.sandbox}.ts`));
      const attempts = [
        join(sibling, "evil.ts"),
        `link-${variant.executor}-${variant.sandbox}.ts`,
        "../outside/evil.ts",
        `${dir.safe}/../outside/evil.ts`,
        "/etc/passwd",
      ];
      for (const file_path of attempts) {
        const r = await start(bunker, { file_path, func_name: "evil" });
        expect({ file_path, status: r.status, code: r.body.error?.code }).toEqual({ file_path, status: 403, code: "PATH_NOT_ALLOWED" });
      }
    });

    test("a missing sheet or function is 404", async () => {
      expect((await start(bunker, { file_path: "nope.ts", func_name: "x" })).body.error.code).toBe("SHEET_NOT_FOUND");
      const r = await run("nope");
      expect(r.status).toBe(404);
      expect(r.body.error.details.available).toContain("survey");
    });

    test("an edited sheet is reloaded on the next start (mtime), and invalidate-cache forces it", async () => {
      const { utimesSync, writeFileSync, chmodSync } = await import("node:fs");
      const file = join(dir.safe, "live.ts");
      const write = (text: string, mtime: Date) => {
        writeFileSync(file, `import { html } from "bunker/calc";\nexport async function* show() { yield html\`<p>${text}</p>\`; }\n`);
        chmodSync(file, 0o644);
        utimesSync(file, mtime, mtime);
      };
      write("v1", new Date(2_000_000_000_000));
      expect((await start(bunker, { file_path: "live.ts", func_name: "show" })).body.html).toBe("<p>v1</p>");
      write("v2", new Date(2_000_000_100_000));
      expect((await start(bunker, { file_path: "live.ts", func_name: "show" })).body.html).toBe("<p>v2</p>");
      // Same mtime as before: the cached module is still used until the cache is invalidated.
      write("v3", new Date(2_000_000_100_000));
      expect((await start(bunker, { file_path: "live.ts", func_name: "show" })).body.html).toBe("<p>v2</p>");
      const inv = await call(bunker, "POST", "/v1/calc/execution/invalidate-cache", { file_path: "live.ts" });
      expect(inv.body).toEqual({ file_path: file, invalidated: true });
      expect((await start(bunker, { file_path: "live.ts", func_name: "show" })).body.html).toBe("<p>v3</p>");
    });

    test("the sheet list shows the exported generator functions of each file", async () => {
      const r = await call(bunker, "GET", "/v1/calc/sheets");
      const flow = r.body.sheets.find((s: { name: string }) => s.name === "flow.ts");
      expect(flow.file_path).toBe(dir.sheet);
      expect(flow.functions.find((f: { name: string }) => f.name === "survey").description).toBe("Two windows with every field type.");
    });
  });

  test(variant.sandbox ? "sheets run inside the sandbox (own hostname, unprivileged user)" : "sheets run on the host", async () => {
    const r = await run("whereami");
    if (variant.sandbox) {
      expect(r.body.result).toEqual({ hostname: "uzoncalc", uid: 65534 });
      const health = await call(bunker, "GET", "/health");
      expect(health.body.warnings).toEqual([]);
    } else {
      expect(r.body.result.hostname).toBe(hostname());
      const health = await call(bunker, "GET", "/health");
      const warned = health.body.warnings.some((w: { key: string }) => w.key === "uzoncalc.isolation");
      // Without liteboxd the isolated executor still runs, unsandboxed, and says so in /health.
      expect(warned).toBe(variant.executor === "isolated");
    }
  });
});
