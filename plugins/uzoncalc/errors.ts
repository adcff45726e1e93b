// Errors raised by the sheet loader and runner; light on purpose (the worker process loads them without the core).
export class SheetError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "SheetError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  toJSON() {
    return { status: this.status, code: this.code, message: this.message, details: this.details };
  }
}

export function isSheetErrorShape(value: unknown): value is { status: number; code: string; message: string; details?: Record<string, unknown> } {
  const v = value as Record<string, unknown> | null;
  return !!v && typeof v.status === "number" && typeof v.code === "string" && typeof v.message === "string";
}
