// Template rules: create, a new version on every update, rollback as a new version; composed with YAML import/export
// (template-yaml.ts) and prepull tasks (prepull.ts) into the "liteboxd.templates" service.
import type { TemplateListQuery, TemplateService } from "./contract";
import type { SandboxDriver } from "./drivers/types";
import { errors } from "./errors";
import { createPrepullTasks } from "./prepull";
import { TEMPLATE_NAME, type CreateTemplateRequest, type RollbackWire, type TemplateListWire, type TemplateSpec, type TemplateVersionWire, type TemplateWire, type UpdateTemplateRequest, type VersionListWire } from "./schema";
import type { Store, TemplateRow, VersionRow } from "./store";
import { createTemplateYaml } from "./template-yaml";

const now = () => new Date().toISOString();

/** What sandbox creation reads from templates: the spec of the latest or a given version. */
export interface TemplateSpecSource {
  specFor(name: string, version?: number): Promise<{ spec: TemplateSpec; version: number } | undefined>;
}

/** The service as liteboxd's index.ts holds it: the contract, the spec source for sandboxes, and boot recovery. */
export interface ManagedTemplateService {
  service: TemplateService;
  specs: TemplateSpecSource;
  /** On boot: marks pulls a previous run left unfinished as failed; the number marked. */
  recoverPrepulls(): Promise<number>;
}

/** Fills LiteBoxd's defaults so every stored spec is complete. */
function normalizeSpec(spec: TemplateSpec): TemplateSpec {
  return {
    ...spec,
    resources: { cpu: spec.resources?.cpu ?? "500m", memory: spec.resources?.memory ?? "512Mi" },
    ttl: spec.ttl ?? 3600,
    startupTimeout: spec.startupTimeout ?? 300,
  };
}

/** Rules beyond the schema (YAML imports arrive unvalidated). */
function checkSpec(spec: unknown): TemplateSpec {
  const s = spec as TemplateSpec | undefined;
  if (!s || typeof s !== "object" || typeof s.image !== "string" || !s.image) throw errors.INVALID_REQUEST("spec.image is required");
  if (s.readinessProbe && !s.readinessProbe.exec && !s.readinessProbe.httpGet) throw errors.INVALID_REQUEST("spec.readinessProbe needs exec.command or httpGet.port");
  for (const f of s.files ?? []) {
    if (f.content === undefined && !f.source) throw errors.INVALID_REQUEST(`spec.files: ${f.destination} needs content or source`);
    if (f.encoding === "base64" && f.content !== undefined && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(f.content)) {
      throw errors.INVALID_REQUEST(`spec.files: ${f.destination} is not valid base64`);
    }
  }
  return normalizeSpec(s);
}

const templateWire = (t: TemplateRow, spec?: TemplateSpec): TemplateWire => ({
  id: t.id, name: t.name, displayName: t.displayName ?? undefined, description: t.description ?? undefined, tags: t.tags,
  author: t.author ?? undefined, isPublic: t.isPublic, latestVersion: t.latestVersion, createdAt: t.createdAt,
  updatedAt: t.updatedAt, ...(spec ? { spec } : {}),
});

const versionWire = (v: VersionRow): TemplateVersionWire => ({
  id: v.id, templateId: v.templateId, version: v.version, spec: v.spec, changelog: v.changelog ?? undefined,
  createdBy: v.createdBy ?? undefined, createdAt: v.createdAt,
});

export function createTemplateService(store: Store, driver: SandboxDriver): ManagedTemplateService {
  const prepulls = createPrepullTasks(store, driver);

  async function mustGet(name: string): Promise<TemplateRow> {
    const t = await store.templateByName(name);
    if (!t) throw errors.TEMPLATE_NOT_FOUND(`template ${name} not found`);
    return t;
  }

  async function latestSpec(t: TemplateRow): Promise<TemplateSpec> {
    const v = await store.version(t.id, t.latestVersion);
    if (!v) throw errors.INTERNAL_ERROR(`template ${t.name} lost version ${t.latestVersion}`);
    return v.spec;
  }

  async function create(req: CreateTemplateRequest, author: string): Promise<TemplateWire> {
    if (!TEMPLATE_NAME.test(req.name)) throw errors.INVALID_REQUEST(`name "${req.name}" must be a DNS label: 1-63 characters of a-z, 0-9 and "-"`);
    const spec = checkSpec(req.spec);
    const exists = () => errors.TEMPLATE_EXISTS(`template ${req.name} already exists`);
    if (await store.templateByName(req.name)) throw exists();
    const at = now();
    const t: TemplateRow = {
      id: crypto.randomUUID(), name: req.name, displayName: req.displayName ?? null, description: req.description ?? null,
      tags: req.tags ?? [], author, isPublic: req.isPublic ?? true, latestVersion: 1, createdAt: at, updatedAt: at,
    };
    try {
      await store.insertTemplate(t, { id: crypto.randomUUID(), templateId: t.id, version: 1, spec, changelog: "Initial version", createdBy: author, createdAt: at });
    } catch (error) {
      // Two creates of one name at once: the loser's insert fails on the unique name.
      if (await store.templateByName(req.name)) throw exists();
      throw error;
    }
    if (req.autoPrepull) await prepulls.prepull(spec.image, t.name).catch(() => undefined);
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

  async function list(q: TemplateListQuery): Promise<TemplateListWire> {
    const page = Math.max(1, q.page ?? 1);
    const pageSize = Math.min(100, Math.max(1, q.pageSize ?? 20));
    const needle = q.search?.toLowerCase();
    const all = (await store.listTemplates()).filter((t) =>
      (!q.tag || t.tags.includes(q.tag)) &&
      (!needle || [t.name, t.displayName ?? "", t.description ?? ""].some((f) => f.toLowerCase().includes(needle))));
    return { items: all.slice((page - 1) * pageSize, page * pageSize).map((t) => templateWire(t)), total: all.length, page, pageSize };
  }

  async function rollback(name: string, targetVersion: number, changelog: string | undefined, author: string): Promise<RollbackWire> {
    const t = await mustGet(name);
    const target = await store.version(t.id, targetVersion);
    if (!target) throw errors.VERSION_NOT_FOUND(`template ${name} has no version ${targetVersion}`);
    const at = now();
    const next: TemplateRow = { ...t, latestVersion: t.latestVersion + 1, updatedAt: at };
    await store.addVersion(next, {
      id: crypto.randomUUID(), templateId: t.id, version: next.latestVersion, spec: target.spec,
      changelog: changelog ?? `Rollback to version ${targetVersion}`, createdBy: author, createdAt: at,
    });
    return { id: t.id, name: t.name, latestVersion: next.latestVersion, rolledBackFrom: t.latestVersion, rolledBackTo: targetVersion, updatedAt: at };
  }

  const yaml = createTemplateYaml({ store, mustGet, latestSpec, create, update, prepull: prepulls.prepull });

  const service = {
    create,
    update,
    list,
    rollback,
    ...yaml,
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
    async versions(name: string): Promise<VersionListWire> {
      const items = (await store.versions((await mustGet(name)).id)).map(versionWire);
      return { items, total: items.length };
    },
    async version(name: string, version: number): Promise<TemplateVersionWire> {
      const v = await store.version((await mustGet(name)).id, version);
      if (!v) throw errors.VERSION_NOT_FOUND(`template ${name} has no version ${version}`);
      return versionWire(v);
    },
    prepull: prepulls.prepull,
    async prepullTemplate(name: string) {
      const t = await mustGet(name);
      return prepulls.prepull((await latestSpec(t)).image, name);
    },
    prepulls: prepulls.prepulls,
    getPrepull: prepulls.getPrepull,
    deletePrepull: prepulls.deletePrepull,
  } satisfies TemplateService;

  const specs: TemplateSpecSource = {
    async specFor(name, version) {
      const t = await store.templateByName(name);
      if (!t) return undefined;
      const v = await store.version(t.id, version ?? t.latestVersion);
      return v ? { spec: v.spec, version: v.version } : undefined;
    },
  };

  return { service, specs, recoverPrepulls: prepulls.recoverPrepulls };
}
