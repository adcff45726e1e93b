// bunker/agent: what agent authors import. A standalone app (no Bunker core needed) serving the AgentCore contract.
export { AgentRuntimeApp, PingStatus } from "./runtime/app";
export type { AgentRuntimeAppOptions, AsyncTaskInfo, Entrypoint, InvocationResponse, Middleware, Next, PingHandler } from "./runtime/app";
export { DEFAULT_RUNTIME_CONFIG, resolveRuntimeConfig, runtimeConfigFromEnv, type RuntimeConfig } from "./runtime/config";
export {
  BUNKER_SESSION_HEADER,
  currentContext,
  currentContext as getContext,
  REQUEST_ID_HEADER,
  requireContext,
  SESSION_HEADER,
  type RequestContext,
} from "./runtime/context";
