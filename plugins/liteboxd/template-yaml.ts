// Templates as YAML (apiVersion liteboxd/v1): export one (SandboxTemplate) or many (SandboxTemplateList), and import
// either with a strategy; one failing template does not stop the others. Imports go through the same create/update
// rules (schemas, owners) as the JSON routes.
import { Document, parseAllDocuments, Scalar, visit } from "yaml";
import type { TemplateCaller } from "./contract";
import { errors } from "./errors";
import type { CreateTemplateRequest, ImportResultWire, ImportStrategy, PrepullRequest, PrepullWire, TemplateSpec, TemplateWire, UpdateTemplateRequest } from "./schema";
import type { Principal } from "bunker/core";
import type { Store, TemplateFilter, TemplateRow } from "./store";
import { principalOfCaller } from "./template-access";

/** What import and export need from the template rules. */
export interface TemplateYamlDeps {
  store: Store;
  /** The template if the caller may see it; undefined otherwise, as for a missing one. */
  visible(name: string, caller: TemplateCaller): Promise<TemplateRow | undefined>;
  /** The template if the caller may read it; TEMPLATE_NOT_FOUND otherwise. */
  readable(name: string, caller: TemplateCaller): Promise<TemplateRow>;
  /** The `viewer` of a store filter that lets through what the principal may see. */
  viewerOf(principal: Principal): TemplateFilter["viewer"];
  create(req: CreateTemplateRequest, caller: TemplateCaller): Promise<TemplateWire>;
  update(name: string, req: UpdateTemplateRequest, caller: TemplateCaller): Promise<TemplateWire>;
  prepull(request: PrepullRequest, owner: string, template?: string): Promise<PrepullWire>;
  /** The most an export of many templates may weigh (plugins.liteboxd.maxExportBytes). */
  maxExportBytes: number;
}

const yamlDoc = (t: TemplateRow, spec: TemplateSpec) => ({
  apiVersion: "liteboxd/v1",
  kind: "SandboxTemplate",
  metadata: { name: t.name, ...(t.displayName ? { displayName: t.displayName } : {}), ...(t.description ? { description: t.description } : {}), tags: t.tags },
  spec,
});

// Characters YAML 1.1 readers (PyYAML) refuse raw or read differently: C0 controls (a tab in a plain scalar, a
// carriage return as a line break), DEL, C1 controls (NEL is a line break there), the Unicode line and paragraph
// separators, and the noncharacters U+FFFE/U+FFFF. Newlines are left to the writer's block scalars.
const UNPRINTABLE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "g");
const escapeChar = (c: string) => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
};

/** YAML that strict readers accept: the `yaml` package writes C1 controls and the like raw, even in double quotes.
 * Every string holding one is double-quoted, so each raw one left in the text sits in a double-quoted scalar, where
 * an escape sequence stands for it. */
export function toPortableYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && UNPRINTABLE.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString().replace(UNPRINTABLE_ALL, escapeChar);
}

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
    else throw errors.INVALID_YAML(`unsupported kind "${String(d?.kind).slice(0, 64)}": expected SandboxTemplateList or SandboxTemplate`);
  }
  return out;
}

/** The request fields of a document as written: the create/update schemas judge them, as for a JSON body. */
function fieldsOf(doc: Record<string, unknown>) {
  const meta = (doc.metadata && typeof doc.metadata === "object" ? doc.metadata : {}) as Record<string, unknown>;
  const fields = { displayName: meta.displayName, description: meta.description, tags: meta.tags, spec: doc.spec };
  return { name: meta.name, fields: fields as Omit<CreateTemplateRequest, "name"> };
}

export function createTemplateYaml(deps: TemplateYamlDeps) {
  const { store } = deps;

  async function exportOne(name: string, version: number | undefined, caller: TemplateCaller): Promise<string> {
    const t = await deps.readable(name, caller);
    const v = await store.version(t.id, version ?? t.latestVersion);
    if (!v) throw errors.VERSION_NOT_FOUND(`template ${t.name} has no version ${version}`);
    return toPortableYaml(yamlDoc(t, v.spec));
  }

  /** The templates the caller sees, each with its latest spec, from one query; an export past maxExportBytes is 413
   * (measured on the stored specs before they are read, and on the YAML written). */
  async function exportAll(q: { tag?: string; names?: string[] }, caller: TemplateCaller): Promise<string> {
    const filter: TemplateFilter = { viewer: deps.viewerOf(principalOfCaller(caller)), tag: q.tag, names: q.names?.length ? q.names : undefined };
    const max = deps.maxExportBytes;
    const tooLarge = () => errors.PAYLOAD_TOO_LARGE(`the export is larger than ${max} bytes (plugins.liteboxd.maxExportBytes): export fewer templates (?tag= or ?names=), or one at a time`);
    if ((await store.latestSpecsLength(filter)) > max) throw tooLarge();
    const items = (await store.templatesWithSpecs(filter)).map((r) => yamlDoc(r.template, r.spec));
    const text = toPortableYaml({ apiVersion: "liteboxd/v1", kind: "SandboxTemplateList", exportedAt: new Date().toISOString(), items });
    if (Buffer.byteLength(text) > max) throw tooLarge();
    return text;
  }

  /** A template the caller cannot see counts as absent: creating over it fails with TEMPLATE_EXISTS, as a JSON create
   * does, and update-only skips it. One the caller sees but may not change fails with TEMPLATE_FORBIDDEN. */
  async function importYaml(text: string, strategy: ImportStrategy, withPrepull: boolean, caller: TemplateCaller): Promise<ImportResultWire> {
    const docs = parseTemplates(text);
    const principal = principalOfCaller(caller);
    const result: ImportResultWire = { total: docs.length, created: 0, updated: 0, skipped: 0, failed: 0, results: [], prepullStarted: [] };
    for (const doc of docs) {
      const { name: rawName, fields } = fieldsOf(doc);
      const name = typeof rawName === "string" ? rawName : "";
      try {
        if (!name) throw errors.INVALID_REQUEST("invalid template: metadata.name: Expected string");
        const exists = (await deps.visible(name, caller)) !== undefined;
        if ((exists && strategy === "create-only") || (!exists && strategy === "update-only")) {
          result.skipped++;
          result.results.push({ name, action: "skipped" });
          continue;
        }
        const t = exists
          ? await deps.update(name, { ...fields, changelog: "Imported from YAML" }, caller)
          : await deps.create({ name, ...fields }, caller);
        if (exists) result.updated++;
        else result.created++;
        result.results.push({ name, action: exists ? "updated" : "created", version: t.latestVersion });
        const image = t.spec?.image;
        if (withPrepull && image && !result.prepullStarted.includes(image)) {
          await deps.prepull({ image }, principal.userId, name).then(() => result.prepullStarted.push(image), () => undefined);
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
