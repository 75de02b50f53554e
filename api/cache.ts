/**
 * A small time-bounded memo for rows that change rarely (anchors, prefixes, the cursor): readers may
 * see a change up to `ttlMs` late, well inside the item document's max-age. Bounded by `max` entries.
 */
export interface TtlCache<K, V> {
  get(key: K, load: () => V): V;
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
  };
}
