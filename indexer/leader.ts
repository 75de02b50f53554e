/**
 * One indexer at a time on a PostgreSQL mirror. The leader holds a session-level advisory lock on a
 * connection of its own and runs every write on that connection, so a write cannot commit once the
 * lock is gone: the server releases a session lock only when the session ends, and a session that
 * ends takes its open transaction with it. The others stand by, trying the lock about once a second;
 * when the leader dies (kill -9, a lost connection) the server drops its session and one of them
 * takes over from the cursor.
 *
 *   createPgLeadership(pool, log): Leadership     the advisory lock
 *   soleWriter(): Leadership                      SQLite: one file, one writer, always the leader
 */
import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "../mirror/pg/db";
import { IndexerError } from "./errors";

export type Role = "leader" | "standby";

/** What the lock is named after, in pg_locks (as a bigint key) and in logs. */
export const INDEXER_LOCK_NAME = "traceanchor-indexer";

/** The advisory lock key: the first 8 bytes of sha256("traceanchor-indexer") as a signed bigint. */
export const INDEXER_LOCK_KEY: string = createHash("sha256")
  .update(INDEXER_LOCK_NAME)
  .digest()
  .readBigInt64BE(0)
  .toString(10);

/** This indexer does not (or no longer) hold the writer lock; it stands by instead of writing. */
export class NotLeaderError extends IndexerError {
  constructor(options?: ErrorOptions) {
    super("NOT_LEADER", "this indexer does not hold the writer lock", options);
  }
}

export interface Leadership {
  readonly role: Role;
  /** Tries once to take the lock (connecting first if need be); true if this process leads now. */
  tryAcquire(): Promise<boolean>;
  /** The leader's session, for writes; throws NotLeaderError when this process does not lead. */
  session(): PoolClient;
  /** Gives the lock up (closing its session); a no-op when not held. */
  release(): Promise<void>;
  /** Hears of the lock lost while leading (its connection closed or failed). */
  onLost(listener: (cause: unknown) => void): void;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export function soleWriter(): Leadership {
  return {
    role: "leader",
    tryAcquire: () => Promise.resolve(true),
    session() {
      throw new Error("a SQLite mirror has no leader session");
    },
    release: () => Promise.resolve(),
    onLost: () => undefined,
  };
}

export function createPgLeadership(pool: Pool, log: Logger): Leadership {
  let client: PoolClient | null = null;
  let leads = false;
  const listeners: ((cause: unknown) => void)[] = [];

  /** Drops `which` (if it is still ours) back to the pool as broken, so the pool closes it. */
  function drop(which: PoolClient, error?: Error): void {
    if (client !== which) return;
    client = null;
    const wasLeader = leads;
    leads = false;
    which.release(error ?? true);
    if (wasLeader) for (const listener of listeners) listener(error);
  }

  async function connect(): Promise<PoolClient> {
    const fresh = await pool.connect();
    // A checked-out client has no error listener of the pool's: without ours a dropped connection
    // would be an uncaught 'error' event. Either event means the session, and any lock, is gone.
    const lost = (error?: Error): void => drop(fresh, error ?? new Error("leader session closed"));
    fresh.on("error", lost);
    fresh.on("end", () => lost());
    client = fresh;
    return fresh;
  }

  return {
    get role(): Role {
      return leads ? "leader" : "standby";
    },
    async tryAcquire() {
      if (leads) return true;
      const session = client ?? (await connect());
      let pid: number | undefined;
      try {
        const { rows } = await session.query<{ locked: boolean; pid: number }>(
          "SELECT pg_try_advisory_lock($1::bigint) AS locked, pg_backend_pid() AS pid",
          [INDEXER_LOCK_KEY],
        );
        if (client !== session) return false; // the session closed while we asked
        leads = rows[0]?.locked === true;
        pid = rows[0]?.pid;
      } catch (error) {
        drop(session, error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      if (leads) log.info({ lock: INDEXER_LOCK_NAME, key: INDEXER_LOCK_KEY, pid }, "indexer is the leader");
      return leads;
    },
    session() {
      if (!leads || client === null) throw new NotLeaderError();
      return client;
    },
    async release() {
      const session = client;
      if (session === null) return;
      if (leads)
        await session.query("SELECT pg_advisory_unlock($1::bigint)", [INDEXER_LOCK_KEY]).catch(() => undefined);
      leads = false;
      drop(session);
    },
    onLost(listener) {
      listeners.push(listener);
    },
  };
}
