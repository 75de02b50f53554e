/**
 * Which engine a `TRACE_DB` value names, without loading either driver (the CLI reads it at start).
 *
 *   isPostgresUrl(text): boolean     postgres:// or postgresql://
 *   engineOf(text): Engine
 */
export type Engine = "sqlite" | "postgres";

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:/i.test(text.trim());
}

export function engineOf(db: string): Engine {
  return isPostgresUrl(db) ? "postgres" : "sqlite";
}
