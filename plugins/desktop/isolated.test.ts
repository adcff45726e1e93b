// Local desktops under the liteboxd plugin's isolation service (bubblewrap): apps and commands run as an
// unprivileged uid that sees only its own desktop's display and home.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import liteboxd from "../liteboxd/index";
import { eventually, startBunker, type TestBunker } from "./test-helpers";

let b: TestBunker;
let first: { sandbox_id: string; display: string; isolated: boolean };
let second: { sandbox_id: string; display: string };

beforeAll(async () => {
  b = await startBunker({ requireIsolation: true }, undefined, [liteboxd]);
  const create = async (body: Record<string, unknown>) => {
    const r = await b.json("POST", "/desktops", { screen_width: 800, screen_height: 600, ...body });
    if (r.status !== 201) throw new Error(`creating a desktop failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  [first, second] = await Promise.all([create({}), create({ allow_internet_access: true })]);
});

afterAll(async () => {
  await b.close();
});

const run = async (id: string, command: string) => (await b.json("POST", `/desktops/${id}/commands`, { command })).body;

describe("desktops isolated by the isolation service", () => {
  test("commands run unprivileged, in /home/user, with their own display only", async () => {
    expect(first.isolated).toBe(true);
    const health = await (await b.bunker.handle(new Request("http://localhost/health"))).json();
    expect(health.warnings).toEqual([]);
    const r = await run(first.sandbox_id, "id -u; pwd; echo $DISPLAY; ls /tmp/.X11-unix");
    const [uid, cwd, display, sockets] = r.stdout.trim().split("\n");
    expect(uid).not.toBe("0");
    expect(cwd).toBe("/home/user");
    expect(display).toBe(first.display);
    expect(sockets).toBe(`X${first.display.slice(1)}`);
  });

  test("a desktop cannot reach another desktop's display, even with network access", async () => {
    expect(second.display).not.toBe(first.display);
    const own = await run(second.sandbox_id, "xdpyinfo >/dev/null && echo reachable");
    expect(own.stdout).toBe("reachable\n");
    const other = await run(second.sandbox_id, `DISPLAY=${first.display} xdpyinfo >/dev/null 2>&1 && echo reachable || echo refused`);
    expect(other.stdout).toBe("refused\n");
  });

  test("files written through the API are the sandbox user's to change", async () => {
    await b.json("PUT", `/desktops/${first.sandbox_id}/files`, { path: "docs/readme.txt", content: "v1" });
    const r = await run(first.sandbox_id, "echo v2 >> docs/readme.txt && cat docs/readme.txt");
    expect(r).toMatchObject({ exit_code: 0, stdout: "v1v2\n" });
  });

  test("xterm in the sandbox receives typed CJK text", async () => {
    const id = first.sandbox_id;
    const launched = await b.json("POST", `/desktops/${id}/apps/launch`, { application: "xterm" });
    expect(launched.status).toBe(200);
    expect(launched.body.app).toMatchObject({ application: "xterm", state: "running", exit_code: null });
    await eventually(async () => (await b.json("GET", `/desktops/${id}/windows?application=xterm`)).body.windows.length > 0, "xterm");
    await eventually(async () => (await b.json("GET", `/desktops/${id}/windows/current`)).status === 200, "focus");
    await b.json("POST", `/desktops/${id}/keyboard/type`, { text: "echo 隔离的桌面 > ~/cjk.txt\n" });
    const content = await eventually(async () => {
      const r = await b.json("GET", `/desktops/${id}/files?path=cjk.txt`);
      return r.status === 200 && r.body.content;
    }, "cjk.txt");
    expect(content).toBe("隔离的桌面\n");
    const apps = (await b.json("GET", `/desktops/${id}/apps`)).body.apps as Array<{ application: string; state: string }>;
    expect(apps).toContainEqual(expect.objectContaining({ application: "xterm", state: "running" }));
    expect(apps).toContainEqual(expect.objectContaining({ application: "openbox", state: "running" }));
  });

  test("an app that fails at once makes the launch fail with what it printed, and the apps list keeps it", async () => {
    const id = first.sandbox_id;
    const r = await b.json("POST", `/desktops/${id}/apps/launch`, { application: "ls", uri: "/no-such-dir" });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("APP_EXITED");
    expect(r.body.error.message).toContain("No such file or directory");
    expect(r.body.error.details.app).toMatchObject({ application: "ls", state: "exited", exit_code: 2 });
    const apps = (await b.json("GET", `/desktops/${id}/apps`)).body.apps as Array<{ application: string; output: string[] }>;
    const ls = apps.find((a) => a.application === "ls")!;
    expect(ls.output.join("\n")).toContain("/no-such-dir");
  });

});
