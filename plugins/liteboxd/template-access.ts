// Who may see and use a template: its owner, an admin, or anyone when it is public. Changing one (update, delete,
// rollback, prepull, import over it) is for its owner or an admin only (templates.ts).
import { canAccess, type Principal } from "bunker/core";
import type { TemplateCaller } from "./contract";
import { errors } from "./errors";
import type { TemplateRow } from "./store";

/** A user id passed by another plugin is that user, never an admin. No caller (a plugin written against the old
 * contract, in plain JavaScript) is refused rather than guessed. */
export function principalOfCaller(caller: TemplateCaller): Principal {
  if (typeof caller === "string" && caller) return { userId: caller, keyId: null };
  if (typeof caller === "object" && caller !== null && typeof caller.userId === "string") return caller;
  throw errors.INTERNAL_ERROR("liteboxd.templates was called without the caller's user id (see contract.ts, TemplateCaller)");
}

/** Readable and usable (create sandboxes, list, export): public, or the caller's own (an admin's view). */
export const canRead = (t: TemplateRow, caller: Principal) => t.isPublic || canAccess(caller, t.owner);
