// Sheet errors are the core's BunkerError: core/errors.ts has no dependencies, so the worker process loads it
// without the rest of the core. This file adds the wire shape errors take across the worker's pipe.
import { BunkerError } from "../../core/errors";

export { BunkerError };

export interface WireError {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export const toWireError = (e: BunkerError): WireError => ({ status: e.status, code: e.code, message: e.message, details: e.details });

export function isSheetErrorShape(value: unknown): value is WireError {
  const v = value as Record<string, unknown> | null;
  return !!v && typeof v.status === "number" && typeof v.code === "string" && typeof v.message === "string";
}
