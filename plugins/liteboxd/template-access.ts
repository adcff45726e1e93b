// Who may see and use a template: its owner, an admin, or anyone when it is public. Changing one (update, delete,
// rollback, prepull, import over it) is for its owner or an admin only (templates.ts).
import { canAccess, type Principal } from "bunker/core";
import type { TemplateCaller } from "./contract";
import type { TemplateRow } from "./store";

/** A user id passed by another plugin is that user, never an admin. */
export const principalOfCaller = (caller: TemplateCaller): Principal =>
  typeof caller === "string" ? { userId: caller, keyId: null } : caller;

/** Readable and usable (create sandboxes, list, export): public, or the caller's own (an admin's view). */
export const canRead = (t: TemplateRow, caller: Principal) => t.isPublic || canAccess(caller, t.owner);
