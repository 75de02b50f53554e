export { buildApp, traceAnchorApp } from "./app";
export type { AppDeps } from "./app";
export { startServer, openScansDb } from "./server";
export type { RunningServer, StartServerOptions } from "./server";
export { apiConfig, parseApiEnv, ApiConfigError } from "./config";
export type { ApiConfig } from "./config";
export { createIngestUpload, UPLOAD_STATUS } from "./upload";
export type { AcceptUpload, AcceptUploadArgs, UploadAnchor, UploadCode, UploadOutcome } from "./upload";
export type { ItemDoc } from "./documents";
