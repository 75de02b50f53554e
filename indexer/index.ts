export * from "./errors";
export { openDatabase, runMigrations, pendingMigrations } from "./db";
export type { Db } from "./db";
export { createIndexer } from "./indexer";
export type { Indexer, IndexerConfig, IndexerStatus, Logger, SyncResult } from "./indexer";
export { databaseChecksum, tableChecksums } from "./checksum";
export { createHttpProvider } from "./http";
export type { HttpProvider, HttpProviderOptions } from "./http";
