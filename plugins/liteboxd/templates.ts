// Template rules: create, versions on every update, rollback as a new version, YAML export/import, prepull tasks.
import { BunkerError } from "bunker/core";
import { parseAllDocuments, stringify } from "yaml";
import type { SandboxDriver } from "./drivers/types";
import { TEMPLATE_NAME, type CreateTemplateRequest, type ImportResultWire, type PrepullWire, type TemplateSpec, type TemplateVersionWire, type TemplateWire, type UpdateTemplateRequest } from "./schema";
import type { PrepullRow, Store, TemplateRow, VersionRow } from "./store";

const invalid = (message: string) => new BunkerError(400, "INVALID_REQUEST", message);
const templateNotFound = (name: string) => new BunkerError(404, "TEMPLATE_NOT_FOUND", `template ${name} not found`);
const now = () => new Date().toISOString();

export type ImportStrategy = "create-only" | "update-only" | "create-or-update";

/** Fills the contract's defaults so every stored spec is complete. */
export function normalizeSpec(spec: TemplateSpec): TemplateSpec {
  return {
    ...spec,
    resources: { cpu: spec.resources?.cpu ?? "500m", memory: spec.resources?.memory ?? "512Mi" },
    ttl: spec.ttl ?? 3600,
    startupTimeout: spec.startupTimeout ?? 300,
  };
}

function checkSpec(spec: unknown): TemplateSpec {
  const s = spec as TemplateSpec | undefined;
  if (!s || typeof s !== "object" || typeof s.image !== "string" || !s.image) throw invalid("spec.image is required");
  if (s.readinessProbe && !s.readinessProbe.exec && !s.readinessProbe.httpGet) throw invalid("spec.readinessProbe needs exec.command or httpGet.port");
  for (const f of s.files ?? []) {
    if (f.content === undefined && !f.source) throw invalid(`spec.files: ${f.destination} needs content or source`);
    if (f.encoding === "base64" && f.content !== undefined && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(f.content)) throw invalid(`spec.files: ${f.destination} is not valid base64`);
  }
  return normalizeSpec(s);
}

export const templateWire = (t: TemplateRow, spec?: TemplateSpec): TemplateWire => ({
  id: t.id, name: t.name, displayName: t.displayName ?? undefined, description: t.description ?? undefined, tags: t.tags,
  author: t.author ?? undefined, isPublic: t.isPublic, latestVersion: t.latestVersion, createdAt: t.createdAt,
  updatedAt: t.updatedAt, ...(spec ? { spec } : {}),
});

const versionWire = (v: VersionRow): TemplateVersionWire => ({
  id: v.id, templateId: v.templateId, version: v.version, spec: v.spec, changelog: v.changelog ?? undefined,
  createdBy: v.createdBy ?? undefined, createdAt: v.createdAt,
});

const prepullWire = (p: PrepullRow): PrepullWire => ({
  id: p.id, image: p.image, status: p.status as PrepullWire["status"], progress: { ready: p.ready, total: p.total },
  template: p.template ?? undefined, error: p.error ?? undefined, startedAt: p.startedAt, completedAt: p.completedAt ?? undefined,
});

export function createTemplateService(store: Store, driver: SandboxDriver) {
  async function mustGet(name: string): Promise<TemplateRow> {
    const t = await store.templateByName(name);
    if (!t) throw templateNotFound(name);
    return t;
  }

  async function latestSpec(t: TemplateRow): Promise<TemplateSpec> {
    const v = await store.version(t.id, t.latestVersion);
    if (!v) throw new BunkerError(500, "INTERNAL_ERROR", `template ${t.name} lost version ${t.latestVersion}`);
    return v.spec;
  }

  async function create(req: CreateTemplateRequest, author: string): Promise<TemplateWire> {
    if (!TEMPLATE_NAME.test(req.name)) throw invalid(`name "${req.name}" must be a DNS label: 1-63 characters of a-z, 0-9 and "-"`);
    const spec = checkSpec(req.spec);
    if (await store.templateByName(req.name)) throw new BunkerError(409, "TEMPLATE_EXISTS", `template ${req.name} already exists`);
    const at = now();
    const t: TemplateRow = {
      id: crypto.randomUUID(), name: req.name, displayName: req.displayName ?? null, description: req.description ?? null,
      tags: req.tags ?? [], author, isPublic: req.isPublic ?? true, latestVersion: 1, createdAt: at, updatedAt: at,
    };
    try {
      await store.insertTemplate(t, { id: crypto.randomUUID(), templateId: t.id, version: 1, spec, changelog: "Initial version", createdBy: author, createdAt: at });
    } catch (error) {
      if (await store.templateByName(req.name)) throw new BunkerError(409, "TEMPLATE_EXISTS", `template ${req.name} already exists`);
      throw error;
    }
    if (req.autoPrepull) await prepull(spec.image, t.name).catch(() => undefined);
    return templateWire(t, spec);
  }

  async function update(name: string, req: UpdateTemplateRequest, author: string): Promise<TemplateWire> {
    const t = await mustGet(name);
    const spec = checkSpec(req.spec);
    const at = now();
    const next: TemplateRow = {
      ...t, displayName: req.displayName ?? t.displayName, description: req.description ?? t.description,
      tags: req.tags ?? t.tags, isPublic: req.isPublic ?? t.isPublic, latestVersion: t.latestVersion + 1, updatedAt: at,
    };
    await store.addVersion(next, { id: crypto.randomUUID(), templateId: t.id, version: next.latestVersion, spec, changelog: req.changelog ?? null, createdBy: author, createdAt: at });
    return templateWire(next, spec);
  }

  async function list(q: { tag?: string; search?: string; page?: number; pageSize?: number }) {
    const page = Math.max(1, q.page ?? 1);
    const pageSize = Math.min(100, Math.max(1, q.pageSize ?? 20));
    const needle = q.search?.toLowerCase();
    const all = (await store.listTemplates()).filter((t) =>
      (!q.tag || t.tags.includes(q.tag)) &&
      (!needle || [t.name, t.displayName ?? "", t.description ?? ""].some((f) => f.toLowerCase().includes(needle))));
    return { items: all.slice((page - 1) * pageSize, page * pageSize).map((t) => templateWire(t)), total: all.length, page, pageSize };
  }

  async function rollback(name: string, targetVersion: number, changelog: string | undefined, author: string) {
    const t = await mustGet(name);
    const target = await store.version(t.id, targetVersion);
    if (!target) throw new BunkerError(404, "VERSION_NOT_FOUND", `template ${name} has no version ${targetVersion}`);
    const at = now();
    const next: TemplateRow = { ...t, latestVersion: t.latestVersion + 1, updatedAt: at };
    await store.addVersion(next, {
      id: crypto.randomUUID(), templateId: t.id, version: next.latestVersion, spec: target.spec,
      changelog: changelog ?? `Rollback to version ${targetVersion}`, createdBy: author, createdAt: at,
    });
    return { id: t.id, name: t.name, latestVersion: next.latestVersion, rolledBackFrom: t.latestVersion, rolledBackTo: targetVersion, updatedAt: at };
  }

  // ---- YAML ----
  const yamlDoc = (t: TemplateRow, spec: TemplateSpec) => ({
    apiVersion: "liteboxd/v1",
    kind: "SandboxTemplate",
    metadata: { name: t.name, ...(t.displayName ? { displayName: t.displayName } : {}), ...(t.description ? { description: t.description } : {}), tags: t.tags },
    spec,
  });

  async function exportOne(name: string, version?: number): Promise<string> {
    const t = await mustGet(name);
    const v = await store.version(t.id, version ?? t.latestVersion);
    if (!v) throw new BunkerError(404, "VERSION_NOT_FOUND", `template ${name} has no version ${version}`);
    return stringify(yamlDoc(t, v.spec));
  }

  async function exportAll(q: { tag?: string; names?: string[] }): Promise<string> {
    const items = [];
    for (const t of await store.listTemplates()) {
      if (q.tag && !t.tags.includes(q.tag)) continue;
      if (q.names?.length && !q.names.includes(t.name)) continue;
      items.push(yamlDoc(t, await latestSpec(t)));
    }
    return stringify({ apiVersion: "liteboxd/v1", kind: "SandboxTemplateList", exportedAt: now(), items });
  }

  function parseTemplates(text: string): Array<Record<string, unknown>> {
    let docs: unknown[];
    try {
      const parsed = parseAllDocuments(text);
      const list = Array.isArray(parsed) ? parsed : [parsed];
      for (const d of list) if (d.errors.length) throw d.errors[0];
      docs = list.map((d) => d.toJS());
    } catch (error) {
      throw new BunkerError(400, "INVALID_YAML", `invalid YAML: ${(error as Error).message}`);
    }
    const out: Array<Record<string, unknown>> = [];
    for (const doc of docs) {
      const d = doc as Record<string, unknown> | null;
      if (d?.kind === "SandboxTemplateList" && Array.isArray(d.items)) out.push(...(d.items as Array<Record<string, unknown>>));
      else if (d?.kind === "SandboxTemplate") out.push(d);
      else throw new BunkerError(400, "INVALID_YAML", `unsupported kind "${String(d?.kind)}": expected SandboxTemplateList or SandboxTemplate`);
    }
    return out;
  }

  async function importYaml(text: string, strategy: ImportStrategy, withPrepull: boolean, author: string): Promise<ImportResultWire> {
    const docs = parseTemplates(text);
    const result: ImportResultWire = { total: docs.length, created: 0, updated: 0, skipped: 0, failed: 0, results: [], prepullStarted: [] };
    for (const doc of docs) {
      const meta = (doc.metadata ?? {}) as Record<string, unknown>;
      const name = typeof meta.name === "string" ? meta.name : "";
      try {
        const exists = name ? await store.templateByName(name) : undefined;
        const fields = {
          displayName: typeof meta.displayName === "string" ? meta.displayName : undefined,
          description: typeof meta.description === "string" ? meta.description : undefined,
          tags: Array.isArray(meta.tags) ? meta.tags.map(String) : undefined,
          spec: doc.spec as TemplateSpec,
        };
        if (exists && strategy === "create-only") {
          result.skipped++;
          result.results.push({ name, action: "skipped" });
          continue;
        }
        if (!exists && strategy === "update-only") {
          result.skipped++;
          result.results.push({ name, action: "skipped" });
          continue;
        }
        const t = exists
          ? await update(name, { ...fields, changelog: "Imported from YAML" }, author)
          : await create({ name, ...fields }, author);
        if (exists) result.updated++;
        else result.created++;
        result.results.push({ name, action: exists ? "updated" : "created", version: t.latestVersion });
        if (withPrepull && t.spec && !result.prepullStarted.includes(t.spec.image)) {
          await prepull(t.spec.image, name).then(() => result.prepullStarted.push(t.spec!.image), () => undefined);
        }
      } catch (error) {
        result.failed++;
        result.results.push({ name, action: "failed", error: (error as Error).message });
      }
    }
    return result;
  }

  // ---- prepull: OCI images are pulled into the driver's shared cache in the background, with layer progress;
  // "host" and root filesystem directories are on disk already, so their task completes at once. ----
  const active = new Map<string, string>(); // image → id of the task pulling it

  async function prepull(image: string, template?: string, timeoutSeconds?: number): Promise<PrepullWire> {
    const check = driver.checkImage(image);
    if (!check.ok) throw invalid(check.reason);
    const running = active.get(image);
    if (running) throw new BunkerError(409, "PREPULL_IN_PROGRESS", `a prepull of ${image} is already in progress (${running})`);
    const at = now();
    const oci = driver.isOciImage?.(image) === true && driver.pullImage !== undefined;
    const row: PrepullRow = {
      id: crypto.randomUUID(), image, status: oci ? "pending" : "completed", template: template ?? null, error: null,
      ready: oci ? 0 : 1, total: oci ? 0 : 1, startedAt: at, completedAt: oci ? null : at,
    };
    await store.insertPrepull(row);
    const answer = prepullWire(row);
    if (oci) {
      active.set(image, row.id);
      void runPull({ ...row }, timeoutSeconds);
    }
    return answer;
  }

  async function runPull(row: PrepullRow, timeoutSeconds?: number) {
    let timedOut = false;
    const timer = timeoutSeconds ? setTimeout(() => {
      timedOut = true;
      driver.cancelPull?.(row.image);
    }, timeoutSeconds * 1000) : undefined;
    let writing = Promise.resolve();
    const save = (next: Partial<PrepullRow>) => {
      Object.assign(row, next);
      const snapshot = { ...row };
      writing = writing.then(() => store.updatePrepull(snapshot)).catch(() => undefined);
      return writing;
    };
    try {
      // pending until the image's manifest is read (the layer count known), then pulling with progress.
      await driver.pullImage!(row.image, (p) => void (p.total > 0 && save({ status: "pulling", ready: p.ready, total: p.total })));
      await save({ status: "completed", ready: row.total, completedAt: now() });
    } catch (error) {
      await save({ status: "failed", error: timedOut ? `the pull did not finish within ${timeoutSeconds}s` : (error as Error).message, completedAt: now() });
    } finally {
      clearTimeout(timer);
      if (active.get(row.image) === row.id) active.delete(row.image);
    }
  }

  return {
    create,
    update,
    list,
    rollback,
    exportOne,
    exportAll,
    importYaml,
    async exists(name: string): Promise<boolean> {
      return (await store.templateByName(name)) !== undefined;
    },
    async get(name: string): Promise<TemplateWire> {
      const t = await mustGet(name);
      return templateWire(t, await latestSpec(t));
    },
    async remove(name: string): Promise<void> {
      await store.deleteTemplate((await mustGet(name)).id);
    },
    async versions(name: string) {
      const items = (await store.versions((await mustGet(name)).id)).map(versionWire);
      return { items, total: items.length };
    },
    async version(name: string, version: number): Promise<TemplateVersionWire> {
      const v = await store.version((await mustGet(name)).id, version);
      if (!v) throw new BunkerError(404, "VERSION_NOT_FOUND", `template ${name} has no version ${version}`);
      return versionWire(v);
    },
    /** The spec a sandbox is created from (latest or a given version). */
    async specFor(name: string, version?: number): Promise<{ spec: TemplateSpec; version: number } | undefined> {
      const t = await store.templateByName(name);
      if (!t) return undefined;
      const v = await store.version(t.id, version ?? t.latestVersion);
      return v ? { spec: v.spec, version: v.version } : undefined;
    },
    prepull,
    async prepullTemplate(name: string) {
      const t = await mustGet(name);
      return prepull((await latestSpec(t)).image, name);
    },
    async prepulls(q: { image?: string; status?: string }) {
      const items = (await store.prepulls()).filter((p) => (!q.image || p.image === q.image) && (!q.status || p.status === q.status));
      return { items: items.map(prepullWire) };
    },
    async getPrepull(id: string) {
      const p = await store.prepull(id);
      if (!p) throw new BunkerError(404, "PREPULL_NOT_FOUND", `prepull task ${id} not found`);
      return prepullWire(p);
    },
    /** On boot: a pull of a previous run that never finished failed with it. */
    async recoverPrepulls(): Promise<number> {
      let n = 0;
      for (const p of await store.prepulls()) {
        if ((p.status === "pending" || p.status === "pulling") && !active.has(p.image)) {
          await store.updatePrepull({ ...p, status: "failed", error: "the server stopped during the pull", completedAt: now() });
          n++;
        }
      }
      return n;
    },
    /** Deletes the task: a pull under way is cancelled, and the cached image goes too unless a sandbox uses it or
     * another completed task still stands for it. */
    async deletePrepull(id: string) {
      const p = await store.prepull(id);
      if (!p) throw new BunkerError(404, "PREPULL_NOT_FOUND", `prepull task ${id} not found`);
      if (active.get(p.image) === id) driver.cancelPull?.(p.image);
      await store.deletePrepull(id);
      const others = (await store.prepulls()).some((o) => o.image === p.image && o.status === "completed");
      if (!others && driver.isOciImage?.(p.image) && !active.has(p.image)) driver.removeImage?.(p.image);
    },
  };
}

export type TemplateService = ReturnType<typeof createTemplateService>;
