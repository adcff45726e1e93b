// Public API of the core, for built-in and external plugin authors.
export { definePlugin, type PluginDefinition, type PluginContext, type PluginCommand, type CommandHelpers, type SystemRequirements } from "./plugin";
export { BunkerError, badRequest, unauthorized, forbidden, notFound, conflict, unavailable, errorResponse, defineErrors, quoted, validationFailed, jsonShapeProblem, type JsonShapeLimits, type FieldProblem, type ErrorBody, type ErrorCodes, type ErrorFactory } from "./errors";
export { readLines, forEachLine, LineTooLongError, type ReadLinesOptions } from "./lines";
export { principalOf, canAccess, ownerScope, sha256Hex, hashMatches, USER_ID_PATTERN, type Principal, OPEN_MODE_USER } from "./auth";
export { boundedBody, fieldOf } from "./http";
export type { Database, Migration, Dialect } from "./db";
export type { Logger } from "./logger";
export type { Metrics, Counter } from "./metrics";
export type { BunkerServices, ServiceName, ServiceRegistry } from "./services";
export { createBunker, type Bunker, type BunkerOptions } from "./app";
export { Elysia, t } from "elysia";
export type { IsolationService, IsolatedSpawnSpec, IsolatedProcess, IsolatedRunResult, IsolationMount, IsolationLimits } from "./isolation";
export { SANDBOX_BIN_DIR, SANDBOX_BUN, SANDBOX_PATH } from "./isolation";
export { parseQuantity, parseCpuCores, parseMemoryMiB, QuantityError } from "./quantity";
