export * from "./errors";
export { openDatabase, openMirror, runMigrations, pendingMigrations } from "../mirror/db";
export type { Db } from "../mirror/db";
export { createIndexer } from "./indexer";
export type { Indexer, IndexerConfig, IndexerStatus, Logger, SyncResult } from "./indexer";
export { databaseChecksum, tableChecksums } from "../mirror/checksum";
export { createHttpProvider } from "./http";
export type { HttpProvider, HttpProviderOptions } from "./http";
