/**
 * `traceanchor mirror copy --to postgres://…`: moves the SQLite mirror (TRACE_DB) into a PostgreSQL
 * database without re-indexing the chain, then checks that both hold the same rows (the engines'
 * common digest). Stop the indexer first: the copy reads one snapshot of the file.
 */
import { copyMirror } from "../../mirror/copy";
import { openDatabase } from "../../mirror/db";
import { isPostgresUrl } from "../../mirror/engine";
import { storeChecksum } from "../../mirror/checksum";
import { openStore, sqliteStore } from "../../mirror/store";
import { ConfigError, type Config } from "../lib/config";
import type { Output } from "../lib/output";

export async function mirrorCopyCommand(config: Config, options: { to: string }, out: Output): Promise<number> {
  if (isPostgresUrl(config.db)) throw new ConfigError("TRACE_DB: mirror copy reads a SQLite mirror; give its file");
  if (!isPostgresUrl(options.to))
    throw new ConfigError("--to: give the PostgreSQL URL (postgres://user:pass@host:port/db)");
  const target = await openStore({ db: options.to, variable: "--to" });
  const db = openDatabase(config.db, { readonly: true });
  try {
    if (target.engine !== "postgres") throw new ConfigError("--to: not a PostgreSQL database");
    // One read transaction: the copy is one snapshot even if an indexer writes meanwhile.
    db.exec("BEGIN");
    const started = Date.now();
    const rows = await copyMirror(db, target.pool);
    const [from, to] = await Promise.all([storeChecksum(sqliteStore(db)), storeChecksum(target)]);
    db.exec("COMMIT");
    if (from !== to) throw new Error(`the copy differs from ${config.db} (digest ${to} against ${from})`);
    const seconds = (Date.now() - started) / 1000;
    out.info(
      `copied ${Object.values(rows).reduce((a, b) => a + b, 0)} rows into ${target.location} in ${seconds.toFixed(1)} s; digests match`,
    );
    out.result({ to: target.location, digest: to, seconds, rows });
    return 0;
  } finally {
    db.close();
    await target.close();
  }
}
