/** Moved to mirror/write/chain.ts; this name stays for bench/indexer.ts until it imports the mirror module. */
export { createStore } from "../mirror/write/chain";
export type { Cursor, RangeBatch, Store } from "../mirror/write/chain";
