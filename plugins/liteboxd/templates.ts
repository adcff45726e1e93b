// Template rules: create, a new version on every update, rollback as a new version, who may see and change what;
// composed with YAML import/export (template-yaml.ts) and prepull tasks (prepull.ts) into "liteboxd.templates".
import { canAccess, quoted, type Principal } from "bunker/core";
import type { TemplateCaller, TemplateListQuery, TemplateService } from "./contract";
import type { SandboxDriver } from "./drivers/types";
import { errors } from "./errors";
import { createPrepullTasks } from "./prepull";
import { CreateTemplateBody, TEMPLATE_NAME, UpdateTemplateBody, type CreateTemplateRequest, type RollbackWire, type SpecSummary, type TemplateListWire, type TemplateSpec, type TemplateVersionWire, type TemplateWire, type UpdateTemplateRequest, type VersionListWire } from "./schema";
import type { Store, TemplateFilter, TemplateRow, VersionRow } from "./store";
import { canRead, principalOfCaller } from "./template-access";
import { createTemplateYaml } from "./template-yaml";
import { admitTemplateRequest, decodedSize, type TemplateLimits } from "./template-rules";

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

const notFound = (name: string) => errors.TEMPLATE_NOT_FOUND(`template ${quoted(name, 256)} not found`);

const templateWire = <S extends TemplateSpec | SpecSummary = TemplateSpec>(t: TemplateRow, spec?: S): TemplateWire<S> => ({
  id: t.id, name: t.name, displayName: t.displayName ?? undefined, description: t.description ?? undefined, tags: t.tags,
  author: t.author ?? undefined, isPublic: t.isPublic, latestVersion: t.latestVersion, createdAt: t.createdAt,
  updatedAt: t.updatedAt, ...(spec ? { spec } : {}),
});

const versionWire = <S extends TemplateSpec | SpecSummary>(v: VersionRow, spec: S): TemplateVersionWire<S> => ({
  id: v.id, templateId: v.templateId, version: v.version, spec, changelog: v.changelog ?? undefined,
  createdBy: v.createdBy ?? undefined, createdAt: v.createdAt,
});

/** A spec as lists show it: each file without its content (up to maxTemplateFilesBytes of it), with its size instead.
 * The whole spec stays one GET away (the template, or one of its versions). */
function specSummary(spec: TemplateSpec): SpecSummary {
  if (!spec.files) return spec as SpecSummary;
  return {
    ...spec,
    files: spec.files.map((f) => ({
      ...(f.source !== undefined ? { source: f.source } : {}), destination: f.destination,
      ...(f.encoding !== undefined ? { encoding: f.encoding } : {}), size: decodedSize(f),
    })),
  };
}

/** The templates a principal sees: the public ones and its own, or every one for an admin. */
const viewerOf = (principal: Principal): TemplateFilter["viewer"] => (principal.admin ? undefined : principal.userId);

export interface TemplateServiceOptions extends TemplateLimits {
  /** The most a YAML export of many templates may weigh (plugins.liteboxd.maxExportBytes): a larger one is 413. */
  maxExportBytes: number;
}

export function createTemplateService(store: Store, driver: SandboxDriver, limits: TemplateServiceOptions): ManagedTemplateService {
  const prepulls = createPrepullTasks(store, driver);

  /** The template of that name if the caller may see it; another user's private one is undefined, like a missing one. */
  async function visible(name: string, caller: TemplateCaller): Promise<TemplateRow | undefined> {
    const t = await store.templateByName(name);
    return t && canRead(t, principalOfCaller(caller)) ? t : undefined;
  }

  /** The template if the caller may read it; TEMPLATE_NOT_FOUND otherwise, the same for a missing one. */
  async function readable(name: string, caller: TemplateCaller): Promise<TemplateRow> {
    const t = await visible(name, caller);
    if (!t) throw notFound(name);
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
    if (!TEMPLATE_NAME.test(req.name)) throw errors.INVALID_REQUEST(`name "${quoted(req.name, 256)}" must be a DNS label: 1-63 characters of a-z, 0-9 and "-"`);
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

  /** LiteBoxd's list items carry the latest spec (its CLI shows the image from it): so do ours, for the page only,
   * fetched with the page in one query, and with each file's content left out (specSummary). */
  async function list(q: TemplateListQuery, caller: TemplateCaller): Promise<TemplateListWire> {
    const page = Math.max(1, q.page ?? 1);
    const pageSize = Math.min(100, Math.max(1, q.pageSize ?? 20));
    const filter: TemplateFilter = { viewer: viewerOf(principalOfCaller(caller)), tag: q.tag, search: q.search };
    const [rows, total] = await Promise.all([
      store.templatesWithSpecs(filter, { limit: pageSize, offset: (page - 1) * pageSize }),
      store.countTemplates(filter),
    ]);
    return { items: rows.map((r) => templateWire(r.template, specSummary(r.spec))), total, page, pageSize };
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

  const yaml = createTemplateYaml({ store, visible, readable, viewerOf, create, update, prepull: prepulls.prepull, maxExportBytes: limits.maxExportBytes });

  const service = {
    create,
    update,
    list,
    rollback,
    ...yaml,
    async exists(name: string, caller: TemplateCaller): Promise<boolean> {
      return (await visible(name, caller)) !== undefined;
    },
    async get(name: string, caller: TemplateCaller): Promise<TemplateWire> {
      const t = await readable(name, caller);
      return templateWire(t, await latestSpec(t));
    },
    async remove(name: string, caller: TemplateCaller): Promise<void> {
      await store.deleteTemplate((await changeable(name, caller)).id);
    },
    /** Every version, each spec without its files' content (specSummary): a version's whole spec is GET .../versions/:v. */
    async versions(name: string, caller: TemplateCaller): Promise<VersionListWire> {
      const items = (await store.versions((await readable(name, caller)).id)).map((v) => versionWire(v, specSummary(v.spec)));
      return { items, total: items.length };
    },
    async version(name: string, version: number, caller: TemplateCaller): Promise<TemplateVersionWire> {
      const t = await readable(name, caller);
      const v = await store.version(t.id, version);
      if (!v) throw errors.VERSION_NOT_FOUND(`template ${t.name} has no version ${version}`);
      return versionWire(v, v.spec);
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
      const t = await visible(name, owner);
      if (!t) return undefined;
      const v = await store.version(t.id, version ?? t.latestVersion);
      return v ? { spec: v.spec, version: v.version } : undefined;
    },
  };

  return { service, specs, recoverPrepulls: prepulls.recoverPrepulls };
}
