/**
 * Where the API keeps brands' signed link sets, from the environment. Kept apart from `ApiConfig`:
 * entry points call `parseLinksEnv` next to `parseApiEnv`; a bad value fails naming the variable.
 *
 * TRACE_LINKS_DB    SQLite file for signed link sets, writable (default data/links.db)
 */
import { ApiConfigError } from "./config";

export interface LinksConfig {
  readonly dbPath: string;
}

export const LINKS_DEFAULTS: LinksConfig = Object.freeze({ dbPath: "data/links.db" });

export function parseLinksEnv(env: Readonly<Record<string, string | undefined>> = process.env): LinksConfig {
  const raw = env.TRACE_LINKS_DB?.trim();
  if (raw === undefined || raw === "") return LINKS_DEFAULTS;
  if (raw.includes("\u0000") || /[/\\]$/.test(raw))
    throw new ApiConfigError(`TRACE_LINKS_DB must be a SQLite file path, got "${raw}"`);
  return Object.freeze({ dbPath: raw });
}
