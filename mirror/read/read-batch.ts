/**
 * One SQLite read transaction per event-loop turn. Outside a transaction every statement takes and
 * drops SQLite's shared lock (WAL read mark: two fcntl calls and an fstat of the file per statement);
 * the item route runs one or more statements for each of the many requests a turn handles. `enter()`
 * opens a deferred transaction if none is open, and it is committed once the turn's I/O callbacks
 * are done (setImmediate), so readers never hold a snapshot longer than one turn and never block the
 * writer's checkpoints for longer than that either.
 *
 * `onBegin` / `onEnd` run when the turn's transaction opens and closes (the mirror pins its version
 * for that span, see cache.ts).
 *
 *   readBatch(db, { onBegin?, onEnd? }?): { enter(): void; leave(): void }
 */
import type { Database } from "better-sqlite3";

export interface ReadBatch {
  /** Opens the turn's read transaction (no-op when one is open on the connection). */
  enter(): void;
  /** Ends it now, e.g. before this connection writes. */
  leave(): void;
}

export function readBatch(db: Database, hooks: { onBegin?: () => void; onEnd?: () => void } = {}): ReadBatch {
  const begin = db.prepare("BEGIN DEFERRED");
  const commit = db.prepare("COMMIT");
  let open = false;
  const leave = (): void => {
    if (!open) return;
    open = false;
    hooks.onEnd?.();
    if (!db.open || !db.inTransaction) return;
    try {
      commit.run();
    } catch {
      // A read-only transaction has nothing to lose; never leave it open.
      if (db.inTransaction) db.exec("ROLLBACK");
    }
  };
  return {
    enter() {
      if (open || db.inTransaction) return;
      begin.run();
      open = true;
      // Scheduled first: the transaction ends with the turn even if onBegin throws.
      setImmediate(leave);
      hooks.onBegin?.();
    },
    leave,
  };
}
