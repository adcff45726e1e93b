// Two tenants on one Bunker with every built-in plugin: alice makes one object of each kind, bob calls every route
// that names one of them. The routes come from the running app's route table, so a new route is covered (or fails
// until the parameter table below says which object its parameter names) without anyone editing the list.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createBunker, type Bunker } from "../core/app";
import { offlineIndex, UV_CACHE } from "../plugins/env-fabric/test-support";
import { eventually } from "./support/eventually";
import type { TSchema } from "@sinclair/typebox";
import { bodyFor, callAs, codeOf, differences, fillPath, paramsOf, routesOf, type Answer, type Filled, type ParamRow, type Route } from "./support/tenancy";

const tmp = mkdtempSync(join(tmpdir(), "bunker-tenancy-"));
const ECHO_AGENT = resolve(import.meta.dir, "../plugins/agent-runtime/examples/echo-agent");
const SECRET = `alice-secret-${crypto.randomUUID()}`;
const RUN_MARKER = `alice-run-${crypto.randomUUID()}`;
const NAMES = { template: "alice-private-tpl", publicTemplate: "alice-public-tpl", workflow: "alice-wf", node: "alice-node", calc: "alice-calc-1", agent: "alice-echo" };

let bunker: Bunker;
let base: string;
type Caller = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;
/** Requests as the holder of `key`. */
const as = (key: string): Caller => (method, path, body, headers) => callAs(base, key, method, path, body, headers);
let alice: Caller;
let bob: Caller;

/** alice's objects by kind, and why the kinds that are missing could not be made. */
const objects: Record<string, string> = {};
const notCreated: Record<string, string> = {};
const object = (kind: string) => () => {
  if (objects[kind] === undefined) throw new Error(`alice's ${kind} could not be created: ${notCreated[kind] ?? "not attempted"}`);
  return objects[kind]!;
};

// ---- the parameter table: (path prefix, parameter) → alice's object, or a plausible value that names nothing ----
/** `param` under `prefix` names alice's object of this kind. */
const owned = (prefix: string, param: string, kind: string): ParamRow => ({ prefix, param, value: object(kind), object: kind });
/** `param` under `prefix` takes a value that names nobody's object (a port, a version number, a file of the docs). */
const fixed = (prefix: string, param: string, value: string): ParamRow => ({ prefix, param, value: () => value });
const PARAMS: ParamRow[] = [
  owned("/api/v1/sandboxes", "id", "sandbox"),
  owned("/api/v1/sandbox", "id", "sandbox"),
  fixed("/api/v1/sandbox", "port", "8080"),
  fixed("/api/v1/sandbox", "*", "index.html"),
  owned("/api/v1/templates", "name", "template"),
  fixed("/api/v1/templates", "version", "1"),
  owned("/api/v1/images/prepull", "id", "prepull task"),
  owned("/desktop/desktops", "id", "desktop"),
  owned("/desktop/desktops", "streamId", "desktop stream"),
  fixed("/desktop/desktops", "windowId", "1"),
  owned("/desktop/streams", "streamId", "desktop stream"),
  fixed("/desktop/novnc", "*", "vnc.html"),
  owned("/envs", "workflow_id", "env workflow"),
  owned("/envs", "node_id", "env node"),
  owned("/v1/calc", "session_id", "calc session"),
  owned("/agent-runtime/sessions", "id", "agent session"),
  owned("/agent-runtime/templates", "id", "agent template"),
  owned("/ssh/keys", "id", "ssh key"),
  fixed("/docs/assets", "file", "swagger-ui.css"),
];

// Bodies and queries that pass validation, so the ownership check answers rather than the schema. Where bob's call
// would leave a trace (a file, a script), the trace is one alice looks for afterwards.
const form = (fields: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, k === "file" ? new Blob([v]) : v);
  return f;
};
const SAMPLE_BODIES: Record<string, () => unknown> = {
  "POST /api/v1/sandboxes/:id/exec": () => ({ command: ["sh", "-c", "echo bob > /workspace/bob-was-here"] }),
  "POST /api/v1/sandboxes/:id/exec/stream": () => ({ command: ["sh", "-c", "echo bob > /workspace/bob-was-here"] }),
  "POST /api/v1/sandboxes/:id/files": () => form({ path: "/workspace/bob-was-here", file: "bob" }),
  "PUT /api/v1/templates/:name": () => ({ spec: { image: "host", startupScript: "echo bob > /workspace/bob-was-here" }, changelog: "bob" }),
  "POST /api/v1/templates/:name/rollback": () => ({ targetVersion: 1 }),
  "POST /desktop/desktops/:id/mouse/click": () => ({ x: 1, y: 1 }),
  "POST /desktop/desktops/:id/mouse/move": () => ({ x: 1, y: 1 }),
  "POST /desktop/desktops/:id/mouse/drag": () => ({ path: [{ x: 1, y: 1 }, { x: 2, y: 2 }] }),
  "POST /desktop/desktops/:id/mouse/scroll": () => ({ direction: "down" }),
  "POST /desktop/desktops/:id/keyboard/type": () => ({ text: "bob" }),
  "POST /desktop/desktops/:id/keyboard/press": () => ({ key: "Return" }),
  "POST /desktop/desktops/:id/keyboard/combination": () => ({ keys: ["ctrl", "a"] }),
  "PUT /desktop/desktops/:id/files": () => ({ path: "bob-was-here", content: "bob" }),
  "POST /desktop/desktops/:id/files/open": () => ({ path: "alice.txt" }),
  "POST /desktop/desktops/:id/apps/launch": () => ({ application: "xterm" }),
  "POST /desktop/desktops/:id/commands": () => ({ command: "touch bob-was-here" }),
  "POST /envs/:workflow_id/:node_id/deps": () => ({ packages: ["bunkerdemo-a==1.1"] }),
  "DELETE /envs/:workflow_id/:node_id/deps": () => ({ packages: ["bunkerdemo-a"] }),
  "POST /envs/:workflow_id/:node_id/run": () => ({ code: "print('bob')" }),
  "POST /agent-runtime/sessions/:id/refresh": () => ({ timeout_seconds: 5 }),
  "POST /agent-runtime/sessions/:id/invocations": () => ({ prompt: "bob" }),
  "POST /agent-runtime/templates/:id/invocations": () => ({ prompt: "bob" }),
};
const SAMPLE_QUERIES: Record<string, string> = {
  "GET /api/v1/sandboxes/:id/files": "?path=/workspace/alice.txt",
  "GET /api/v1/sandboxes/:id/exec/interactive": "?command=sh",
  "GET /desktop/desktops/:id/files": "?path=alice.txt",
  "GET /desktop/desktops/:id/windows": "?application=xterm",
};
/** GET routes that speak WebSocket: called with an upgrade request (WS routes always are). */
const UPGRADES = new Set(["GET /api/v1/sandboxes/:id/exec/interactive"]);

/** Where the contract answers something other than 404/403 to a stranger. */
const CONTRACT: Record<string, { statuses?: number[]; sameAsMissing?: Record<string, string>; why: string }> = {
  "ALL /api/v1/sandbox/:id/port/:port": { statuses: [401, 403, 404], why: "the port gateway is public and wants the sandbox's access token (LiteBoxd: 401)" },
  "ALL /api/v1/sandbox/:id/port/:port/*": { statuses: [401, 403, 404], why: "the port gateway is public and wants the sandbox's access token (LiteBoxd: 401)" },
  "WS /desktop/streams/:streamId/ws": { statuses: [401, 403, 404], why: "the live view's socket is public and wants the stream's token" },
  "GET /desktop/streams/:streamId/view": { sameAsMissing: { streamId: "no-such-stream" }, why: "the viewer page is public and holds no secret: it must read the same for any stream id" },
  "GET /agent-runtime/templates/:id/exists": { sameAsMissing: { id: "no-such-agent" }, why: "answers {exists} for any id: a stranger's must read like a missing one" },
};

// ---- requests that name alice's objects in the body or the query instead of the path ----
interface NamedRequest {
  method: string;
  path: string;
  body?: () => unknown;
  headers?: Record<string, string>;
  /** refused: 404/403 (or `statuses`); own: bob gets his own object in his own namespace; list: must not show alice's. */
  expect: "refused" | "own" | "list" | "mass";
  statuses?: number[];
  /** For lists: strings of alice's that bob did not send and must not see. */
  hidden?: () => string[];
  /** A further problem with a 2xx answer (an import that reports it updated alice's template). */
  check?: (answer: Answer) => string | undefined;
}
const agentProject = (dir: string) => {
  cpSync(ECHO_AGENT, dir, { recursive: true });
  const yaml = join(dir, "agent.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8").replace("name: echo-agent", `name: ${NAMES.agent}`));
  return dir;
};
const tarball = (dir: string) => new Uint8Array(Bun.spawnSync(["tar", "-czf", "-", "-C", dir, "."]).stdout);
const NAMED: NamedRequest[] = [
  { method: "GET", path: "/api/v1/templates?search=alice", expect: "list", hidden: () => [NAMES.template, SECRET, NAMES.agent] },
  { method: "GET", path: `/api/v1/templates/export?names=${NAMES.template}`, expect: "list", statuses: [200, 403, 404], hidden: () => [SECRET] },
  { method: "GET", path: "/api/v1/images/prepull?image=host", expect: "list", hidden: () => [objects["prepull task"]!] },
  { method: "GET", path: `/envs?workflow_id=${NAMES.workflow}`, expect: "list", hidden: () => [NAMES.node] },
  { method: "GET", path: "/envs?owner=alice", expect: "list", statuses: [200, 403, 404], hidden: () => [NAMES.workflow] },
  { method: "GET", path: "/envs/operations?owner=alice", expect: "list", statuses: [200, 403, 404], hidden: () => [NAMES.workflow, RUN_MARKER] },
  { method: "GET", path: `/envs/operations?workflow_id=${NAMES.workflow}&node_id=${NAMES.node}&version_id=v1`, expect: "list", statuses: [200, 403, 404], hidden: () => [RUN_MARKER] },
  { method: "GET", path: "/agent-runtime/templates?tags=example", expect: "list", hidden: () => [NAMES.agent] },
  { method: "GET", path: `/envs/${NAMES.workflow}/${NAMES.node}?owner=alice`, expect: "refused" },
  { method: "POST", path: `/envs/${NAMES.workflow}/${NAMES.node}/run?owner=alice`, body: () => ({ code: "print('bob')" }), expect: "refused" },
  { method: "POST", path: "/api/v1/sandboxes", body: () => ({ template: NAMES.template }), expect: "refused" },
  { method: "POST", path: "/agent-runtime/sessions", body: () => ({ template_id: NAMES.agent }), expect: "refused" },
  { method: "POST", path: "/v1/calc/execution/resume", body: () => ({ session_id: NAMES.calc, user_input: { r: 2 } }), expect: "refused" },
  { method: "POST", path: "/v1/calc/execution/cancel", body: () => ({ session_id: NAMES.calc }), expect: "refused" },
  // LiteBoxd template names are one namespace for everyone (public templates are addressed by name): a clash is a 409.
  { method: "POST", path: "/api/v1/templates", body: () => ({ name: NAMES.template, spec: { image: "host" } }), expect: "refused", statuses: [403, 404, 409] },
  { method: "POST", path: "/agent-runtime/agents/deploy", body: () => ({ path: agentProject(join(tmp, "bob-agent")) }), expect: "refused", statuses: [403, 404, 409] },
  {
    method: "POST", path: `/agent-runtime/agents/deploy/archive?template_id=${NAMES.agent}`, body: () => tarball(agentProject(join(tmp, "bob-agent-archive"))),
    headers: { "content-type": "application/gzip" }, expect: "refused", statuses: [403, 404, 409],
  },
  {
    method: "POST", path: "/api/v1/templates/import", expect: "refused", statuses: [200, 400, 403, 404, 409],
    body: () => form({ file: `apiVersion: liteboxd/v1\nkind: SandboxTemplate\nmetadata:\n  name: ${NAMES.template}\nspec:\n  image: host\n  startupScript: echo bob\n`, strategy: "create-or-update" }),
    check: (a) => (a.json?.results ?? []).some((r: { name: string; action: string }) => r.name === NAMES.template && ["created", "updated"].includes(r.action))
      ? `the import ${a.json.results[0].action} alice's template` : undefined,
  },
  // Last: these make bob's own objects (or sweep) and must leave alice's alone.
  { method: "POST", path: "/v1/calc/execution/start", body: () => ({ file_path: "circle.ts", func_name: "circle", session_id: NAMES.calc }), expect: "own", statuses: [200, 201] },
  { method: "POST", path: "/envs", body: () => ({ workflow_id: NAMES.workflow, node_id: NAMES.node }), expect: "own", statuses: [200, 201] },
  { method: "POST", path: "/envs/cleanup", body: () => ({ idle_hours: 0 }), expect: "mass" },
  { method: "POST", path: "/desktop/cleanup", body: () => ({ user_id: "alice", all: true }), expect: "mass" },
  { method: "DELETE", path: "/agent-runtime/sessions", expect: "mass" },
];
/** Routes whose body has a name-like field that names no one's object, and routes that create the caller's own. */
const NAMES_NOTHING: Record<string, string> = {
  "POST /desktop/desktops": "template is the desktop image, not a user's object",
  "POST /ssh/keys": "name labels the caller's new key",
  "POST /api/v1/images/prepull": "an image, not a user's object",
  "POST /v1/calc/execution/invalidate-cache": "a sheet file in the safe directories, shared by design",
};

// ---- alice's objects ----
async function expectStatus(answer: Promise<Answer>, statuses: number[], what: string): Promise<Answer> {
  const a = await answer;
  if (!statuses.includes(a.status)) throw new Error(`${what}: ${a.status} ${a.text.slice(0, 300)}`);
  return a;
}
async function attempt(kinds: string[], make: () => Promise<void>) {
  try {
    await make();
  } catch (error) {
    for (const kind of kinds) if (objects[kind] === undefined) notCreated[kind] = (error as Error).message;
  }
}
function sshPublicKey(): string {
  const file = join(tmp, "alice_ed25519");
  Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@tenancy", "-f", file]);
  return readFileSync(`${file}.pub`, "utf8").trim();
}

async function createAlicesObjects() {
  const running = (id: string) => eventually(async () => (await alice("GET", `/api/v1/sandboxes/${id}`)).json?.status === "running", `sandbox ${id} running`, 60_000);
  await Promise.all([
    attempt(["template", "sandbox"], async () => {
      await expectStatus(alice("POST", "/api/v1/templates", { name: NAMES.template, isPublic: false, spec: { image: "host", env: { ALICE_SECRET: SECRET } } }), [201], "private template");
      objects.template = NAMES.template;
      const sandbox = await expectStatus(alice("POST", "/api/v1/sandboxes", { template: NAMES.template }), [201], "sandbox");
      await running(sandbox.json.id);
      await expectStatus(alice("POST", `/api/v1/sandboxes/${sandbox.json.id}/exec`, { command: ["sh", "-c", "echo alice > /workspace/alice.txt"] }), [200], "sandbox file");
      objects.sandbox = sandbox.json.id;
    }),
    attempt(["public template"], async () => {
      await expectStatus(alice("POST", "/api/v1/templates", { name: NAMES.publicTemplate, isPublic: true, spec: { image: "host" } }), [201], "public template");
      objects["public template"] = NAMES.publicTemplate;
    }),
    attempt(["prepull task"], async () => {
      objects["prepull task"] = (await expectStatus(alice("POST", "/api/v1/images/prepull", { image: "host" }), [202], "prepull")).json.id;
    }),
    attempt(["desktop", "desktop stream"], async () => {
      const desktop = await expectStatus(alice("POST", "/desktop/desktops", { screen_width: 640, screen_height: 480 }), [201], "desktop");
      objects.desktop = desktop.json.sandbox_id;
      await expectStatus(alice("PUT", `/desktop/desktops/${objects.desktop}/files`, { path: "alice.txt", content: "alice" }), [200], "desktop file");
      const stream = await expectStatus(alice("POST", `/desktop/desktops/${objects.desktop}/streams`, {}), [201], "desktop stream");
      objects["desktop stream"] = stream.json.stream_id;
    }),
    attempt(["env workflow", "env node"], async () => {
      await expectStatus(alice("POST", "/envs", { workflow_id: NAMES.workflow, node_id: NAMES.node, packages: ["bunkerdemo-a==1.0"] }), [201], "env");
      await expectStatus(alice("POST", `/envs/${NAMES.workflow}/${NAMES.node}/run`, { code: `print('${RUN_MARKER}')` }), [200], "env run");
      objects["env workflow"] = NAMES.workflow;
      objects["env node"] = NAMES.node;
    }),
    attempt(["calc session"], async () => {
      const started = await expectStatus(alice("POST", "/v1/calc/execution/start", { file_path: "circle.ts", func_name: "circle", session_id: NAMES.calc }), [200, 201], "calc session");
      if (started.json.status !== "waiting_input") throw new Error(`calc session: ${started.text.slice(0, 300)}`);
      objects["calc session"] = NAMES.calc;
    }),
    attempt(["ssh key"], async () => {
      objects["ssh key"] = (await expectStatus(alice("POST", "/ssh/keys", { publicKey: sshPublicKey() }), [201], "ssh key")).json.id;
    }),
    attempt(["agent template", "agent session"], async () => {
      await expectStatus(alice("POST", "/agent-runtime/agents/deploy", { path: agentProject(join(tmp, "alice-agent")) }), [201], "agent deploy");
      objects["agent template"] = NAMES.agent;
      const session = await expectStatus(alice("POST", "/agent-runtime/sessions", { template_id: NAMES.agent }), [201], "agent session");
      objects["agent session"] = session.json.sandbox_id ?? session.json.session_id ?? session.json.id;
    }),
  ]);
}

/** Strings of alice's that no answer to bob may contain (the public template is meant to be seen). */
const aliceSecrets = () =>
  [NAMES.template, SECRET, RUN_MARKER, NAMES.workflow, NAMES.calc, NAMES.agent,
    ...["sandbox", "prepull task", "desktop", "desktop stream", "ssh key", "agent session"].map((k) => objects[k])].filter((s): s is string => !!s);

/** What alice sees of each object; compared before and after bob's calls. */
async function snapshot(): Promise<Record<string, unknown>> {
  const reads: Array<[string, string, string]> = [
    ["template", "template", `/api/v1/templates/${NAMES.template}`],
    ["template versions", "template", `/api/v1/templates/${NAMES.template}/versions`],
    ["public template", "public template", `/api/v1/templates/${NAMES.publicTemplate}`],
    ["sandbox", "sandbox", `/api/v1/sandboxes/${objects.sandbox}`],
    ["prepull task", "prepull task", `/api/v1/images/prepull/${objects["prepull task"]}`],
    ["desktop", "desktop", `/desktop/desktops/${objects.desktop}`],
    ["desktop streams", "desktop stream", `/desktop/desktops/${objects.desktop}/streams`],
    ["env", "env node", `/envs/${NAMES.workflow}/${NAMES.node}`],
    ["env deps", "env node", `/envs/${NAMES.workflow}/${NAMES.node}/deps`],
    ["calc session", "calc session", `/v1/calc/execution/status/${NAMES.calc}`],
    ["ssh keys", "ssh key", "/ssh/keys"],
    ["agent template", "agent template", `/agent-runtime/templates/${NAMES.agent}`],
    ["agent session", "agent session", `/agent-runtime/sessions/${objects["agent session"]}`],
  ];
  const entries = await Promise.all(reads.filter(([, kind]) => objects[kind] !== undefined).map(async ([label, , path]) => {
    const a = await alice("GET", path);
    return [label, { status: a.status, body: withoutVolatile(a.json ?? a.text) }] as const;
  }));
  return Object.fromEntries(entries);
}
/** Fields that change with time alone, not with anyone's request. */
const VOLATILE = new Set<string>(["age_seconds", "idle_seconds"]);
function withoutVolatile(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVolatile);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => [k, withoutVolatile(v)]));
}

// ---- bob's calls, planned from the route table ----
interface Call {
  route: string;
  method: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  rank: number;
  judge: (a: Answer) => Promise<string | undefined> | string | undefined;
  group: "path" | "named" | "list";
}
const rankOf = (method: string) => ({ GET: 0, WS: 0, ALL: 0, POST: 1, PUT: 2, PATCH: 2, DELETE: 3 })[method] ?? 1;
/** What is wrong with an answer whose status is not one of `statuses`; undefined when it is one. */
const unexpected = (a: Answer, statuses: number[]) =>
  statuses.includes(a.status) ? undefined : `answered ${a.status} ${codeOf(a)} (expected ${statuses.join(" or ")})`;
const refusedUnless = (statuses: number[]) => (a: Answer) => unexpected(a, statuses);
const hides = (hidden: string[], statuses: number[]) => (a: Answer) => {
  const problem = unexpected(a, statuses);
  if (problem) return problem;
  const seen = hidden.filter((h) => a.text.includes(h));
  return seen.length ? `shows alice's ${seen.join(", ")}` : undefined;
};

const plan = { controls: [] as Array<{ route: string; url: string }>, calls: [] as Call[], unfillable: [] as string[], namesNothing: [] as string[], unclassified: [] as string[], cannotCall: [] as string[] };

function planPathRoute(route: Route) {
  const id = `${route.method} ${route.path}`;
  if (paramsOf(route.path).length === 0) return;
  let filled: Filled;
  try {
    filled = fillPath(route.path, PARAMS);
  } catch (error) {
    return void plan.cannotCall.push(`${id}: ${(error as Error).message}`);
  }
  if (filled.kind === "missing") return void plan.unfillable.push(`${id}: no row in the parameter table for ${filled.params.join(", ")}`);
  if (filled.objects.length === 0) return void plan.namesNothing.push(id);
  const method = route.method === "GET" && UPGRADES.has(id) ? "WS" : route.method;
  const { body, problem } = bodyFor(route, SAMPLE_BODIES[id]?.());
  if (problem) plan.cannotCall.push(`${id}: ${problem}`);
  const contract = CONTRACT[id];
  const judge = contract?.sameAsMissing ? sameAsMissing(route, method, contract.sameAsMissing, filled.url) : refusedUnless(contract?.statuses ?? [404, 403]);
  if (route.method === "GET") plan.controls.push({ route: id, url: filled.url + (SAMPLE_QUERIES[id] ?? "") });
  plan.calls.push({ route: id, method, url: filled.url + (SAMPLE_QUERIES[id] ?? ""), body, rank: rankOf(route.method), judge, group: "path" });
}

/** Bob's answer for alice's object against his answer for one nobody has: they must read alike (ids aside). */
function sameAsMissing(route: Route, method: string, missing: Record<string, string>, url: string) {
  const table = [...PARAMS.filter((r) => !(r.param in missing)), ...Object.entries(missing).map(([param, value]) => ({ prefix: "/", param, value: () => value }))];
  const missingUrl = (fillPath(route.path, table) as { url: string }).url;
  const ids = (u: string) => u.split("/").filter((seg, i) => url.split("/")[i] !== missingUrl.split("/")[i]);
  const scrub = (text: string, u: string) => ids(u).reduce((t, seg) => t.replaceAll(decodeURIComponent(seg), "<id>"), text);
  return async (a: Answer) => {
    const other = await bob(method, missingUrl);
    return a.status >= 500 || a.status !== other.status || scrub(a.text, url) !== scrub(other.text, missingUrl)
      ? `answered ${a.status} ${a.text.slice(0, 80)}, not what a missing one answers (${other.status} ${other.text.slice(0, 80)})` : undefined;
  };
}

const NAME_LIKE = /(^|_)(ids?|names?|owner)$|^template|session/i;
const fieldsOf = (schema?: TSchema) => Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});
function planCollectionRoute(route: Route) {
  const id = `${route.method} ${route.path}`;
  if (paramsOf(route.path).length !== 0) return;
  if (route.method === "GET") {
    plan.calls.push({ route: id, method: "GET", url: route.path, rank: 0, judge: (a) => (a.status >= 500 ? `answered ${a.status}` : hides(aliceSecrets(), [a.status])(a)), group: "list" });
  }
  const covered = NAMED.some((n) => n.method === route.method && n.path.split("?")[0] === route.path);
  const named = [...fieldsOf(route.body), ...fieldsOf(route.query)].filter((f) => NAME_LIKE.test(f));
  if (!covered && !NAMES_NOTHING[id] && named.length) {
    plan.unclassified.push(`${id}: its body or query names ${named.join(", ")}; add it to NAMED or NAMES_NOTHING`);
  }
}

function planNamed(n: NamedRequest) {
  const id = `${n.method} ${n.path}`;
  const statuses = n.statuses ?? (n.expect === "list" ? [200] : n.expect === "refused" ? [404, 403] : undefined);
  const judge = async (a: Answer) => {
    if (n.expect === "list") return hides(n.hidden!(), statuses!)(a);
    if (a.status >= 500) return `answered ${a.status} ${codeOf(a)}`;
    return (statuses && unexpected(a, statuses)) || n.check?.(a);
  };
  const rank = n.expect === "list" ? 0 : n.expect === "refused" ? 1.5 : 4;
  plan.calls.push({ route: id, method: n.method, url: n.path, body: n.body?.(), headers: n.headers, rank, judge, group: n.expect === "list" ? "list" : "named" });
}

const results: Array<{ call: Call; status: number; problem?: string }> = [];
const leaks = (group: Call["group"]) => results.filter((r) => r.call.group === group && r.problem).map((r) => `${r.call.route} → ${r.problem}`);
let before: Record<string, unknown> = {};
let after: Record<string, unknown> = {};

beforeAll(async () => {
  const index = await offlineIndex();
  bunker = await createBunker({
    env: {},
    config: {
      dataDir: join(tmp, "data"),
      server: { host: "127.0.0.1", port: 0 },
      log: { level: "silent" },
      plugins: {
        desktop: { backend: "local", defaultScreenWidth: 640, defaultScreenHeight: 480 },
        "env-fabric": { cacheDir: UV_CACHE, noIndex: true, findLinks: [index], cleanupIntervalMinutes: 0 },
        uzoncalc: { executor: "inprocess" },
        "agent-runtime": { deployRoots: [tmp] },
      },
    },
  });
  await bunker.listen();
  base = bunker.baseUrl!;
  alice = as((await bunker.keys.create("alice")).key);
  bob = as((await bunker.keys.create("bob")).key);
  await createAlicesObjects();
  before = await snapshot();

  const routes = routesOf(bunker.app);
  for (const route of routes) planPathRoute(route);
  for (const route of routes) planCollectionRoute(route);
  for (const n of NAMED) planNamed(n);
  for (const call of [...plan.calls].sort((a, b) => a.rank - b.rank)) {
    let answer: Answer;
    try {
      answer = await bob(call.method, call.url, call.body, call.headers);
    } catch (error) {
      results.push({ call, status: 0, problem: `no answer: ${(error as Error).message}` });
      continue;
    }
    results.push({ call, status: answer.status, problem: await call.judge(answer) });
  }
  after = await snapshot();
  console.log([
    `tenancy: ${routes.length} routes; ${results.filter((r) => r.call.group === "path").length} name alice's objects in the path,`,
    `${NAMED.length} name them in the body or query, ${results.filter((r) => r.call.group === "list").length - NAMED.filter((n) => n.expect === "list").length} collections listed by bob`,
    `routes whose parameters name nothing (not a tenancy question): ${plan.namesNothing.join("; ")}`,
    ...(Object.keys(notCreated).length ? [`not created: ${JSON.stringify(notCreated)}`] : []),
    ...results.map((r) => `  ${r.problem ? "LEAK" : "ok  "} ${r.status} ${r.call.route}${r.problem ? `: ${r.problem}` : ""}`),
  ].join("\n"));
}, 600_000);

afterAll(async () => {
  await bunker?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("two tenants, every route", () => {
  test("alice has one object of each kind, and reads each of them", () => {
    expect(notCreated).toEqual({});
    expect(Object.entries(before).filter(([, read]) => (read as { status: number }).status !== 200)).toEqual([]);
  });

  test("every route with a path parameter is filled from the parameter table", () => {
    expect(plan.unfillable).toEqual([]);
    expect(plan.cannotCall).toEqual([]);
  });

  test("every route whose body or query names an object is in the table of named requests", () => {
    expect(plan.unclassified).toEqual([]);
  });

  test("the filled paths reach alice's objects: alice's own GETs of them are not 404", async () => {
    const misses = [];
    for (const c of plan.controls) {
      const a = await alice(UPGRADES.has(c.route) ? "WS" : c.route.split(" ")[0]!, c.url);
      // Only a 404 says the path missed her object; a 5xx is the route failing for its owner (printed, not a tenancy matter).
      if (a.status === 404) misses.push(`${c.route} → ${a.status} ${codeOf(a)}`);
      else if (a.status >= 500) console.log(`tenancy: alice's own ${c.route} answered ${a.status} ${codeOf(a)}`);
    }
    expect(misses).toEqual([]);
  });

  test("bob gets 404 (or the contract's refusal) from every route that names alice's object in its path", () => {
    expect(leaks("path")).toEqual([]);
  });

  test("bob's requests that name alice's objects in the body or query are refused or stay in his own namespace", () => {
    expect(leaks("named")).toEqual([]);
  });

  test("no list bob reads shows alice's objects", () => {
    expect(leaks("list")).toEqual([]);
  });

  test("after all of bob's calls alice's objects are all there and unchanged", async () => {
    expect(differences(before, after)).toEqual([]);
    if (objects.sandbox) {
      expect((await alice("GET", `/api/v1/sandboxes/${objects.sandbox}`)).json?.status).toBe("running");
      const trace = await alice("POST", `/api/v1/sandboxes/${objects.sandbox}/exec`, { command: ["ls", "/workspace"] });
      expect(trace.json?.stdout ?? trace.text).not.toContain("bob-was-here");
    }
    if (objects.desktop) {
      const trace = await alice("POST", `/desktop/desktops/${objects.desktop}/commands`, { command: "ls -a" });
      expect(trace.json?.stdout ?? trace.text).not.toContain("bob-was-here");
    }
    if (objects["calc session"]) expect((await alice("GET", `/v1/calc/execution/status/${NAMES.calc}`)).json?.status).toBe("waiting_input");
    if (objects["env node"]) expect((await alice("GET", `/envs/${NAMES.workflow}/${NAMES.node}/deps`)).json?.dependencies).toEqual(["bunkerdemo-a==1.0"]);
  });
});

describe("a public template", () => {
  const name = NAMES.publicTemplate;
  test("bob reads it, sees it listed and starts a sandbox from it", async () => {
    expect((await bob("GET", `/api/v1/templates/${name}`)).status).toBe(200);
    expect((await bob("GET", "/api/v1/templates")).text).toContain(name);
    const sandbox = await bob("POST", "/api/v1/sandboxes", { template: name });
    expect(sandbox.status).toBe(201);
    expect((await bob("DELETE", `/api/v1/sandboxes/${sandbox.json.id}`)).status).toBe(202);
  });

  test("bob cannot change, roll back or delete it, and it stays as alice left it", async () => {
    const was = await alice("GET", `/api/v1/templates/${name}`);
    const refusals = [];
    for (const [method, path, body] of [
      ["PUT", `/api/v1/templates/${name}`, { spec: { image: "host", startupScript: "echo bob" } }],
      ["POST", `/api/v1/templates/${name}/rollback`, { targetVersion: 1 }],
      ["DELETE", `/api/v1/templates/${name}`, undefined],
    ] as const) {
      const a = await bob(method, path, body);
      refusals.push({ route: `${method} ${path}`, refused: [403, 404].includes(a.status), status: a.status });
    }
    expect(refusals.filter((r) => !r.refused)).toEqual([]);
    const is = await alice("GET", `/api/v1/templates/${name}`);
    expect(differences(was.json, is.json)).toEqual([]);
  });
});
