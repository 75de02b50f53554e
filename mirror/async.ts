/**
 * The engine-neutral repository shape: every method returns a promise. SQLite's repositories stay
 * synchronous inside (better-sqlite3) and are lifted with `lift`, which returns already-resolved
 * promises (one await, well under a microsecond); PostgreSQL's are asynchronous by nature.
 *
 *   Async<T>                 T with every method's result wrapped in a Promise
 *   lift(repo, before?): Async<T>
 */
export type Async<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K];
};

/**
 * Wraps a synchronous repository: each call runs `before` (SQLite's per-turn read transaction),
 * then the method, and returns its result (or its error) as a settled promise.
 */
export function lift<T extends object>(repo: T, before?: () => void): Async<T> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(repo) as (keyof T & string)[]) {
    const value = repo[key];
    if (typeof value !== "function") {
      out[key] = value;
      continue;
    }
    const method = value as (...args: unknown[]) => unknown;
    out[key] = (...args: unknown[]): Promise<unknown> => {
      try {
        before?.();
        return Promise.resolve(method.apply(repo, args));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
  }
  return out as Async<T>;
}
