export { buildApp, traceAnchorApp } from "./app";
export type { AppDeps } from "./app";
export { startServer, openScansDb } from "./server";
export type { RunningServer, StartServerOptions } from "./server";
export { apiConfig, parseApiEnv, ApiConfigError } from "./config";
export type { ApiConfig } from "./config";
export { createIngestUpload } from "./upload";
export type { AcceptUpload, AcceptUploadArgs, AcceptUploadResult, UploadAnchor } from "./upload";
export type { ItemDoc } from "./documents";
