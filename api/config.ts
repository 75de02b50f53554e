/**
 * The API's settings from the environment, parsed once into a frozen object; a bad value fails fast
 * naming the variable. Only entry points (`startServer`, the CLI's `serve`) call `parseApiEnv`;
 * tests build an `ApiConfig` with `apiConfig({...})`.
 *
 * TRACE_PORT               listen port (default 3000)
 * TRACE_HOST               listen address (default 127.0.0.1)
 * TRACE_DB                 the mirror: a SQLite file, opened read-only (default data/trace.db), or a
 *                          postgres://user:pass@host:port/db URL (scans and link sets are kept there too)
 * TRACE_DB_READ_URL        a PostgreSQL streaming standby to read the mirror from (with a postgres:// TRACE_DB)
 * TRACE_CONTENT_DIR        content files, for uploads (default data/content)
 * TRACE_EXPLORER_URL       block explorer base, e.g. https://etherscan.io (default: no explorer links)
 * TRACE_PUBLIC_URL         base of the links the API hands out (default http://TRACE_HOST:TRACE_PORT)
 * TRACE_SCAN_THRESHOLD     scans of one serial above which it is "suspicious" (default 50)
 * TRACE_SCANS              on | off: count scans (default on)
 * TRACE_SCANS_DB           SQLite file for scan counts (default data/scans.db)
 * TRACE_RATE_LIMIT         requests per client per minute, 0 = off (default 600)
 * TRACE_TRUST_PROXY        on | off: take the client address from X-Forwarded-For (default off)
 * TRACE_MAX_UPLOAD_BYTES   largest content upload (default 4 GiB)
 * TRACE_TREE_CACHE_MB      memory for loaded Merkle trees (default 512)
 * TRACE_LOG_LEVEL          fatal | error | warn | info | debug | trace | silent (default info)
 * TRACE_BROWSER_RPC_URLS   comma-separated http(s) JSON-RPC URLs the scan page's in-browser verifier reads
 *                          the chain through; with several, their answers must agree. Unset: phones check
 *                          hashes and proofs only (anchors, revocations and prefix owners are not checked).
 *                          TRACE_BROWSER_RPC_URL, one URL, is still read and added to the list.
 *
 * The chain id and contract are not configuration: they come from the mirror's cursor row.
 */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface ApiConfig {
  readonly port: number;
  readonly host: string;
  /** TRACE_DB: a SQLite file path or a postgres:// URL. */
  readonly dbPath: string;
  /** TRACE_DB_READ_URL: a PostgreSQL standby the mirror is read from; undefined: the primary. */
  readonly dbReadUrl?: string;
  readonly contentDir: string;
  /** Without a trailing slash; null when no explorer is configured. */
  readonly explorerUrl: string | null;
  /** Without a trailing slash. */
  readonly publicUrl: string;
  readonly scanThreshold: number;
  readonly scans: boolean;
  readonly scansDbPath: string;
  /** Requests per client per minute; 0 turns rate limiting off. */
  readonly rateLimit: number;
  readonly trustProxy: boolean;
  readonly maxUploadBytes: number;
  readonly treeCacheBytes: number;
  readonly logLevel: LogLevel;
  /** JSON-RPC URLs the scan page's script reads the chain through (all must agree); empty: it checks hashes and proofs only. */
  readonly browserRpcUrls: readonly string[];
}

export class ApiConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiConfigError";
  }
}

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export const API_DEFAULTS: Omit<ApiConfig, "publicUrl"> = {
  port: 3000,
  host: "127.0.0.1",
  dbPath: "data/trace.db",
  contentDir: "data/content",
  explorerUrl: null,
  scanThreshold: 50,
  scans: true,
  scansDbPath: "data/scans.db",
  rateLimit: 600,
  trustProxy: false,
  maxUploadBytes: 4 * 2 ** 30,
  treeCacheBytes: 512 * 2 ** 20,
  logLevel: "info",
  browserRpcUrls: [],
};

/** A complete config from defaults and overrides, validated like the environment. */
export function apiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  const merged = { ...API_DEFAULTS, ...overrides };
  const publicUrl =
    overrides.publicUrl ?? `http://${merged.host.includes(":") ? `[${merged.host}]` : merged.host}:${merged.port}`;
  const browserRpcUrls = Object.freeze(merged.browserRpcUrls.map((url) => rpcUrl("TRACE_BROWSER_RPC_URLS", url)));
  const config: ApiConfig = {
    ...merged,
    publicUrl: httpBase("TRACE_PUBLIC_URL", publicUrl),
    explorerUrl: merged.explorerUrl === null ? null : httpBase("TRACE_EXPLORER_URL", merged.explorerUrl),
    browserRpcUrls,
  };
  return Object.freeze(config);
}

export function parseApiEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
  };
  const port = integer(value("TRACE_PORT"), "TRACE_PORT", 0, 65535) ?? API_DEFAULTS.port;
  const host = value("TRACE_HOST") ?? API_DEFAULTS.host;
  const logLevel = value("TRACE_LOG_LEVEL") ?? API_DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ApiConfigError(`TRACE_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const cacheMb = integer(value("TRACE_TREE_CACHE_MB"), "TRACE_TREE_CACHE_MB", 1, 1_048_576);
  const publicUrl = value("TRACE_PUBLIC_URL");
  return apiConfig({
    port,
    host,
    dbPath: value("TRACE_DB") ?? API_DEFAULTS.dbPath,
    ...(value("TRACE_DB_READ_URL") === undefined ? {} : { dbReadUrl: value("TRACE_DB_READ_URL") }),
    contentDir: value("TRACE_CONTENT_DIR") ?? API_DEFAULTS.contentDir,
    explorerUrl: value("TRACE_EXPLORER_URL") ?? null,
    ...(publicUrl === undefined ? {} : { publicUrl }),
    scanThreshold:
      integer(value("TRACE_SCAN_THRESHOLD"), "TRACE_SCAN_THRESHOLD", 1, Number.MAX_SAFE_INTEGER) ??
      API_DEFAULTS.scanThreshold,
    scans: onOff(value("TRACE_SCANS"), "TRACE_SCANS") ?? API_DEFAULTS.scans,
    scansDbPath: value("TRACE_SCANS_DB") ?? API_DEFAULTS.scansDbPath,
    rateLimit: integer(value("TRACE_RATE_LIMIT"), "TRACE_RATE_LIMIT", 0, 10_000_000) ?? API_DEFAULTS.rateLimit,
    trustProxy: onOff(value("TRACE_TRUST_PROXY"), "TRACE_TRUST_PROXY") ?? API_DEFAULTS.trustProxy,
    maxUploadBytes:
      integer(value("TRACE_MAX_UPLOAD_BYTES"), "TRACE_MAX_UPLOAD_BYTES", 1, Number.MAX_SAFE_INTEGER) ??
      API_DEFAULTS.maxUploadBytes,
    treeCacheBytes: cacheMb === undefined ? API_DEFAULTS.treeCacheBytes : cacheMb * 2 ** 20,
    logLevel: logLevel as LogLevel,
    browserRpcUrls: parseBrowserRpcUrls(value("TRACE_BROWSER_RPC_URLS"), value("TRACE_BROWSER_RPC_URL")),
  });
}

/** TRACE_BROWSER_RPC_URLS (a comma-separated list) and the older TRACE_BROWSER_RPC_URL, each URL once. */
function parseBrowserRpcUrls(list: string | undefined, single: string | undefined): string[] {
  const urls = (list ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "")
    .map((u) => rpcUrl("TRACE_BROWSER_RPC_URLS", u));
  if (single !== undefined) urls.push(rpcUrl("TRACE_BROWSER_RPC_URL", single));
  return [...new Set(urls)];
}

function rpcUrl(name: string, raw: string): string {
  if (!/^https?:\/\/[^/?#\s,]+(\/[^?#\s,]*)?$/i.test(raw) || !URL.canParse(raw)) {
    throw new ApiConfigError(`${name}: "${raw}" is not an http(s) URL without query or fragment`);
  }
  return raw.replace(/\/+$/, "");
}

function integer(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d{1,16}$/.test(raw) ? Number.parseInt(raw, 10) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ApiConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function onOff(raw: string | undefined, name: string): boolean | undefined {
  if (raw === undefined) return undefined;
  const v = raw.toLowerCase();
  if (["on", "true", "1", "yes"].includes(v)) return true;
  if (["off", "false", "0", "no"].includes(v)) return false;
  throw new ApiConfigError(`${name} must be on or off, got "${raw}"`);
}

function httpBase(name: string, raw: string): string {
  if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(raw)) {
    throw new ApiConfigError(`${name} must be an http(s) URL without query or fragment, got "${raw}"`);
  }
  return raw.replace(/\/+$/, "");
}
