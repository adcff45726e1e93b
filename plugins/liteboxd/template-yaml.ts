// Templates as YAML (apiVersion liteboxd/v1): export one (SandboxTemplate) or many (SandboxTemplateList), and import
// either with a strategy; one failing template does not stop the others.
import { parseAllDocuments, stringify } from "yaml";
import { errors } from "./errors";
import type { CreateTemplateRequest, ImportResultWire, ImportStrategy, PrepullWire, TemplateSpec, TemplateWire, UpdateTemplateRequest } from "./schema";
import type { Store, TemplateRow } from "./store";

/** What import and export need from the template rules. */
export interface TemplateYamlDeps {
  store: Store;
  mustGet(name: string): Promise<TemplateRow>;
  latestSpec(template: TemplateRow): Promise<TemplateSpec>;
  create(req: CreateTemplateRequest, author: string): Promise<TemplateWire>;
  update(name: string, req: UpdateTemplateRequest, author: string): Promise<TemplateWire>;
  prepull(image: string, template?: string): Promise<PrepullWire>;
}

const yamlDoc = (t: TemplateRow, spec: TemplateSpec) => ({
  apiVersion: "liteboxd/v1",
  kind: "SandboxTemplate",
  metadata: { name: t.name, ...(t.displayName ? { displayName: t.displayName } : {}), ...(t.description ? { description: t.description } : {}), tags: t.tags },
  spec,
});

/** The SandboxTemplate documents in a YAML text (lists flattened); any other kind is INVALID_YAML. */
function parseTemplates(text: string): Array<Record<string, unknown>> {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const d of list) if (d.errors.length) throw d.errors[0];
    docs = list.map((d) => d.toJS());
  } catch (error) {
    throw errors.INVALID_YAML(`invalid YAML: ${(error as Error).message}`);
  }
  const out: Array<Record<string, unknown>> = [];
  for (const doc of docs) {
    const d = doc as Record<string, unknown> | null;
    if (d?.kind === "SandboxTemplateList" && Array.isArray(d.items)) out.push(...(d.items as Array<Record<string, unknown>>));
    else if (d?.kind === "SandboxTemplate") out.push(d);
    else throw errors.INVALID_YAML(`unsupported kind "${String(d?.kind)}": expected SandboxTemplateList or SandboxTemplate`);
  }
  return out;
}

function fieldsOf(doc: Record<string, unknown>) {
  const meta = (doc.metadata ?? {}) as Record<string, unknown>;
  return {
    name: typeof meta.name === "string" ? meta.name : "",
    displayName: typeof meta.displayName === "string" ? meta.displayName : undefined,
    description: typeof meta.description === "string" ? meta.description : undefined,
    tags: Array.isArray(meta.tags) ? meta.tags.map(String) : undefined,
    spec: doc.spec as TemplateSpec,
  };
}

export function createTemplateYaml(deps: TemplateYamlDeps) {
  const { store } = deps;

  async function exportOne(name: string, version?: number): Promise<string> {
    const t = await deps.mustGet(name);
    const v = await store.version(t.id, version ?? t.latestVersion);
    if (!v) throw errors.VERSION_NOT_FOUND(`template ${name} has no version ${version}`);
    return stringify(yamlDoc(t, v.spec));
  }

  async function exportAll(q: { tag?: string; names?: string[] }): Promise<string> {
    const items = [];
    for (const t of await store.listTemplates()) {
      if (q.tag && !t.tags.includes(q.tag)) continue;
      if (q.names?.length && !q.names.includes(t.name)) continue;
      items.push(yamlDoc(t, await deps.latestSpec(t)));
    }
    return stringify({ apiVersion: "liteboxd/v1", kind: "SandboxTemplateList", exportedAt: new Date().toISOString(), items });
  }

  async function importYaml(text: string, strategy: ImportStrategy, withPrepull: boolean, author: string): Promise<ImportResultWire> {
    const docs = parseTemplates(text);
    const result: ImportResultWire = { total: docs.length, created: 0, updated: 0, skipped: 0, failed: 0, results: [], prepullStarted: [] };
    for (const doc of docs) {
      const { name, ...fields } = fieldsOf(doc);
      try {
        const exists = name ? await store.templateByName(name) : undefined;
        if ((exists && strategy === "create-only") || (!exists && strategy === "update-only")) {
          result.skipped++;
          result.results.push({ name, action: "skipped" });
          continue;
        }
        const t = exists
          ? await deps.update(name, { ...fields, changelog: "Imported from YAML" }, author)
          : await deps.create({ name, ...fields }, author);
        if (exists) result.updated++;
        else result.created++;
        result.results.push({ name, action: exists ? "updated" : "created", version: t.latestVersion });
        const image = t.spec?.image;
        if (withPrepull && image && !result.prepullStarted.includes(image)) {
          await deps.prepull(image, name).then(() => result.prepullStarted.push(image), () => undefined);
        }
      } catch (error) {
        result.failed++;
        result.results.push({ name, action: "failed", error: (error as Error).message });
      }
    }
    return result;
  }

  return { exportOne, exportAll, importYaml };
}
