// Template rules: create, a new version on every update, rollback as a new version, who may see and change what;
// composed with YAML import/export (template-yaml.ts) and prepull tasks (prepull.ts) into "liteboxd.templates".
import { canAccess } from "bunker/core";
import type { TemplateCaller, TemplateListQuery, TemplateService } from "./contract";
import type { SandboxDriver } from "./drivers/types";
import { echoed, errors } from "./errors";
import { createPrepullTasks } from "./prepull";
import { CreateTemplateBody, TEMPLATE_NAME, UpdateTemplateBody, type CreateTemplateRequest, type RollbackWire, type TemplateListWire, type TemplateSpec, type TemplateVersionWire, type TemplateWire, type UpdateTemplateRequest, type VersionListWire } from "./schema";
import type { Store, TemplateRow, VersionRow } from "./store";
import { canRead, principalOfCaller } from "./template-access";
import { createTemplateYaml } from "./template-yaml";
import { admitTemplateRequest, type TemplateLimits } from "./template-rules";

const now = () => new Date().toISOString();

/** What sandbox creation reads from templates: the spec of the latest or a given version, if `owner` may use it. */
export interface TemplateSpecSource {
  specFor(name: string, version: number | undefined, owner: string): Promise<{ spec: TemplateSpec; version: number } | undefined>;
}

/** The service as liteboxd's index.ts holds it: the contract, the spec source for sandboxes, and boot recovery. */
export interface ManagedTemplateService {
  service: TemplateService;
  specs: TemplateSpecSource;
  /** On boot: marks pulls a previous run left unfinished as failed; the number marked. */
  recoverPrepulls(): Promise<number>;
}

const notFound = (name: string) => errors.TEMPLATE_NOT_FOUND(`template ${echoed(name)} not found`);

const templateWire = (t: TemplateRow, spec?: TemplateSpec): TemplateWire => ({
  id: t.id, name: t.name, displayName: t.displayName ?? undefined, description: t.description ?? undefined, tags: t.tags,
  author: t.author ?? undefined, isPublic: t.isPublic, latestVersion: t.latestVersion, createdAt: t.createdAt,
  updatedAt: t.updatedAt, ...(spec ? { spec } : {}),
});

const versionWire = (v: VersionRow): TemplateVersionWire => ({
  id: v.id, templateId: v.templateId, version: v.version, spec: v.spec, changelog: v.changelog ?? undefined,
  createdBy: v.createdBy ?? undefined, createdAt: v.createdAt,
});

export function createTemplateService(store: Store, driver: SandboxDriver, limits: TemplateLimits): ManagedTemplateService {
  const prepulls = createPrepullTasks(store, driver);

  /** The template if the caller may read it; another user's private one is "not found", like a missing one. */
  async function readable(name: string, caller: TemplateCaller): Promise<TemplateRow> {
    const t = await store.templateByName(name);
    if (!t || !canRead(t, principalOfCaller(caller))) throw notFound(name);
    return t;
  }

  /** The template if the caller may change it: its owner or an admin. A public one of someone else is 403. */
  async function changeable(name: string, caller: TemplateCaller): Promise<TemplateRow> {
    const t = await readable(name, caller);
    const principal = principalOfCaller(caller);
    if (!canAccess(principal, t.owner)) {
      throw errors.TEMPLATE_FORBIDDEN(`template ${t.name} belongs to another user: only its author or an admin may change it`);
    }
    return t;
  }

  async function latestSpec(t: TemplateRow): Promise<TemplateSpec> {
    const v = await store.version(t.id, t.latestVersion);
    if (!v) throw errors.INTERNAL_ERROR(`template ${t.name} lost version ${t.latestVersion}`);
    return v.spec;
  }

  async function create(input: CreateTemplateRequest, caller: TemplateCaller): Promise<TemplateWire> {
    const req = admitTemplateRequest(CreateTemplateBody, input, limits);
    if (!TEMPLATE_NAME.test(req.name)) throw errors.INVALID_REQUEST(`name "${echoed(req.name)}" must be a DNS label: 1-63 characters of a-z, 0-9 and "-"`);
    const owner = principalOfCaller(caller).userId;
    // Names are global (LiteBoxd has one namespace): the answer says the name is taken, never whose it is or what.
    const exists = () => errors.TEMPLATE_EXISTS(`template ${req.name} already exists`);
    if (await store.templateByName(req.name)) throw exists();
    const at = now();
    const t: TemplateRow = {
      id: crypto.randomUUID(), name: req.name, displayName: req.displayName ?? null, description: req.description ?? null,
      tags: req.tags ?? [], author: owner, owner, isPublic: req.isPublic ?? false, latestVersion: 1, createdAt: at, updatedAt: at,
    };
    try {
      await store.insertTemplate(t, { id: crypto.randomUUID(), templateId: t.id, version: 1, spec: req.spec, changelog: "Initial version", createdBy: owner, createdAt: at });
    } catch (error) {
      // Two creates of one name at once: the loser's insert fails on the unique name.
      if (await store.templateByName(req.name)) throw exists();
      throw error;
    }
    if (req.autoPrepull) await prepulls.prepull({ image: req.spec.image }, owner, t.name).catch(() => undefined);
    return templateWire(t, req.spec);
  }

  async function update(name: string, input: UpdateTemplateRequest, caller: TemplateCaller): Promise<TemplateWire> {
    const t = await changeable(name, caller);
    const req = admitTemplateRequest(UpdateTemplateBody, input, limits);
    const at = now();
    const next: TemplateRow = {
      ...t, displayName: req.displayName ?? t.displayName, description: req.description ?? t.description,
      tags: req.tags ?? t.tags, isPublic: req.isPublic ?? t.isPublic, latestVersion: t.latestVersion + 1, updatedAt: at,
    };
    await store.addVersion(next, { id: crypto.randomUUID(), templateId: t.id, version: next.latestVersion, spec: req.spec, changelog: req.changelog ?? null, createdBy: principalOfCaller(caller).userId, createdAt: at });
    return templateWire(next, req.spec);
  }

  /** LiteBoxd loads each listed template's spec (its CLI shows the image from it): so do we, for the page only. */
  async function list(q: TemplateListQuery, caller: TemplateCaller): Promise<TemplateListWire> {
    const page = Math.max(1, q.page ?? 1);
    const pageSize = Math.min(100, Math.max(1, q.pageSize ?? 20));
    const needle = q.search?.toLowerCase();
    const principal = principalOfCaller(caller);
    const all = (await store.listTemplates()).filter((t) => canRead(t, principal) &&
      (!q.tag || t.tags.includes(q.tag)) &&
      (!needle || [t.name, t.displayName ?? "", t.description ?? ""].some((f) => f.toLowerCase().includes(needle))));
    const items = await Promise.all(all.slice((page - 1) * pageSize, page * pageSize).map(async (t) => templateWire(t, await latestSpec(t))));
    return { items, total: all.length, page, pageSize };
  }

  async function rollback(name: string, targetVersion: number, changelog: string | undefined, caller: TemplateCaller): Promise<RollbackWire> {
    const t = await changeable(name, caller);
    const target = await store.version(t.id, targetVersion);
    if (!target) throw errors.VERSION_NOT_FOUND(`template ${t.name} has no version ${targetVersion}`);
    const at = now();
    const next: TemplateRow = { ...t, latestVersion: t.latestVersion + 1, updatedAt: at };
    await store.addVersion(next, {
      id: crypto.randomUUID(), templateId: t.id, version: next.latestVersion, spec: target.spec,
      changelog: changelog ?? `Rollback to version ${targetVersion}`, createdBy: principalOfCaller(caller).userId, createdAt: at,
    });
    return { id: t.id, name: t.name, latestVersion: next.latestVersion, rolledBackFrom: t.latestVersion, rolledBackTo: targetVersion, updatedAt: at };
  }

  const yaml = createTemplateYaml({ store, readable, latestSpec, create, update, prepull: prepulls.prepull });

  const service = {
    create,
    update,
    list,
    rollback,
    ...yaml,
    async exists(name: string, caller: TemplateCaller): Promise<boolean> {
      const t = await store.templateByName(name);
      return t !== undefined && canRead(t, principalOfCaller(caller));
    },
    async get(name: string, caller: TemplateCaller): Promise<TemplateWire> {
      const t = await readable(name, caller);
      return templateWire(t, await latestSpec(t));
    },
    async remove(name: string, caller: TemplateCaller): Promise<void> {
      await store.deleteTemplate((await changeable(name, caller)).id);
    },
    async versions(name: string, caller: TemplateCaller): Promise<VersionListWire> {
      const items = (await store.versions((await readable(name, caller)).id)).map(versionWire);
      return { items, total: items.length };
    },
    async version(name: string, version: number, caller: TemplateCaller): Promise<TemplateVersionWire> {
      const t = await readable(name, caller);
      const v = await store.version(t.id, version);
      if (!v) throw errors.VERSION_NOT_FOUND(`template ${t.name} has no version ${version}`);
      return versionWire(v);
    },
    prepull: (request, caller) => prepulls.prepull(request, principalOfCaller(caller).userId),
    /** Pulling fills the shared cache on a template's behalf: a change, so only its owner (or an admin) may. */
    async prepullTemplate(name: string, caller: TemplateCaller) {
      const t = await changeable(name, caller);
      return prepulls.prepull({ image: (await latestSpec(t)).image }, principalOfCaller(caller).userId, t.name);
    },
    prepulls: (query, caller) => prepulls.prepulls(query, principalOfCaller(caller)),
    getPrepull: (id, caller) => prepulls.getPrepull(id, principalOfCaller(caller)),
    deletePrepull: (id, caller) => prepulls.deletePrepull(id, principalOfCaller(caller)),
  } satisfies TemplateService;

  const specs: TemplateSpecSource = {
    async specFor(name, version, owner) {
      const t = await store.templateByName(name);
      if (!t || !canRead(t, principalOfCaller(owner))) return undefined;
      const v = await store.version(t.id, version ?? t.latestVersion);
      return v ? { spec: v.spec, version: v.version } : undefined;
    },
  };

  return { service, specs, recoverPrepulls: prepulls.recoverPrepulls };
}
