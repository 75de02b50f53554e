/**
 * A small time-bounded memo for rows that change rarely (anchors, prefixes, the cursor): readers may
 * see a change up to `ttlMs` late, well inside the item document's max-age. Bounded by `max` entries.
 */
export interface TtlCache<K, V> {
  get(key: K, load: () => V): V;
  /** Forgets one entry (a failed load, so that the next read tries again). */
  delete(key: K): void;
}

export function ttlCache<K, V>(ttlMs: number, max: number, now: () => number = Date.now): TtlCache<K, V> {
  const entries = new Map<K, { value: V; expires: number }>();
  return {
    get(key, load) {
      const t = now();
      const hit = entries.get(key);
      if (hit !== undefined && hit.expires > t) return hit.value;
      const value = load();
      if (entries.size >= max) entries.clear();
      entries.set(key, { value, expires: t + ttlMs });
      return value;
    },
    delete: (key) => void entries.delete(key),
  };
}

/**
 * Tells when the mirror changed: SQLite's `PRAGMA data_version` moves whenever another connection
 * (the indexer, an upload) commits to the file. `generation()` re-reads it at most once per
 * millisecond, and not at all while pinned; `refresh()` re-reads it now. Caches keyed by the
 * generation never serve data older than the last commit seen.
 */
export interface MirrorVersion {
  generation(): number;
  refresh(): number;
  /**
   * Re-reads the version and holds it until `unpin()`: for the span of one read transaction, whose
   * snapshot no other connection's commit changes (see read-batch.ts).
   */
  pin(): void;
  unpin(): void;
}

export function mirrorVersion(read: () => number, now: () => number = Date.now): MirrorVersion {
  let seen = read();
  let generation = 0;
  let checkedAt = now();
  let pinned = false;
  const refresh = (): number => {
    checkedAt = now();
    const v = read();
    if (v !== seen) {
      seen = v;
      generation++;
    }
    return generation;
  };
  return {
    generation: () => (pinned || now() === checkedAt ? generation : refresh()),
    refresh,
    pin() {
      refresh();
      pinned = true;
    },
    unpin() {
      pinned = false;
    },
  };
}

/** A memo emptied whenever the mirror's generation moves; bounded by `max` entries (cleared when full). */
export function versionedCache<K, V>(
  version: MirrorVersion,
  max: number,
): TtlCache<K, V> & { peek(key: K): V | undefined; set(key: K, value: V): void } {
  const entries = new Map<K, V>();
  let generation = -1;
  const sync = (): void => {
    const g = version.generation();
    if (g !== generation) {
      entries.clear();
      generation = g;
    }
  };
  const set = (key: K, value: V): void => {
    if (entries.size >= max) entries.clear();
    entries.set(key, value);
  };
  return {
    get(key, load) {
      sync();
      const hit = entries.get(key);
      if (hit !== undefined || entries.has(key)) return hit as V;
      const value = load();
      set(key, value);
      return value;
    },
    peek(key) {
      sync();
      return entries.get(key);
    },
    delete: (key) => void entries.delete(key),
    set(key, value) {
      sync();
      set(key, value);
    },
  };
}

/**
 * An asynchronous load through a memo of promises: concurrent readers of one key share one query,
 * and a failed load is forgotten so that the next read tries again.
 */
export function memoAsync<K, V>(cache: TtlCache<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  const pending = cache.get(key, load);
  pending.catch(() => cache.delete(key));
  return pending;
}

/**
 * A version read from the database in the background (PostgreSQL's mirror_version row, polled every
 * `intervalMs`): `current()` is what the last poll saw, for `mirrorVersion`'s synchronous reader.
 * Readers may serve memos up to one interval older than the latest commit.
 */
export function polledVersion(
  poll: () => Promise<number>,
  intervalMs: number,
): { current(): number; stop(): void; ready: Promise<void> } {
  let value = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    try {
      value = await poll();
    } catch {
      // A failed poll keeps the last value; the next one tries again (and queries fail loudly).
    }
    if (!stopped) {
      timer = setTimeout(() => void tick(), intervalMs);
      timer.unref();
    }
  };
  const ready = tick();
  return {
    current: () => value,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
    ready,
  };
}
