/**
 * The CLI's configuration: `TRACE_*` environment variables, overridden by flags, parsed once into a
 * frozen, typed object. Only entry points call this; everything below them receives the object.
 */
import path from "node:path";
import { isPostgresUrl } from "../../mirror/engine";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface Config {
  /** Folder that relative paths on the command line are read against. */
  readonly cwd: string;
  readonly rpcUrl: string;
  readonly privateKey: string | undefined;
  readonly keystore: string | undefined;
  readonly keystorePassword: string | undefined;
  readonly relayerKey: string | undefined;
  readonly contract: string | undefined;
  readonly deploymentsDir: string;
  /** TRACE_DB: the SQLite file (absolute) or a postgres:// URL. */
  readonly db: string;
  /** TRACE_DB_READ_URL: a PostgreSQL standby the API reads from (with a postgres:// TRACE_DB). */
  readonly dbReadUrl: string | undefined;
  /** TRACE_EPCIS_DB: the SQLite file of EPCIS capture state beside a SQLite mirror (PostgreSQL keeps it in TRACE_DB). */
  readonly epcisDb: string;
  readonly contentDir: string;
  readonly confirmations: number | undefined;
  readonly port: number;
  readonly host: string;
  readonly explorerUrl: string | undefined;
  readonly apiUrl: string | undefined;
  readonly resolverBase: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got "${text}"`);
  const n = Number.parseInt(text, 10);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function url(name: string, value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch (error) {
    throw new ConfigError(`${name} is not a URL: "${text}"`, { cause: error });
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) {
    throw new ConfigError(`${name} must be an http(s) or ws(s) URL, got "${text}"`);
  }
  return text.replace(/\/+$/, "");
}

function hexKey(name: string, value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  const key = text.startsWith("0x") ? text : `0x${text}`;
  // The value itself never goes into the message: it is a secret.
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ConfigError(`${name} must be 32 bytes of hex (64 hex digits)`);
  return key;
}

function address(name: string, value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^0x[0-9a-fA-F]{40}$/.test(text))
    throw new ConfigError(`${name} must be a 0x-prefixed 20-byte address, got "${text}"`);
  return text;
}

/** Flags the CLI accepts for every command; each overrides its `TRACE_*` variable. */
export interface ConfigFlags {
  rpcUrl?: string;
  contract?: string;
  db?: string;
  contentDir?: string;
  confirmations?: string;
  port?: string;
  host?: string;
}

/** TRACE_DB as given when it is a PostgreSQL URL, else the SQLite file's absolute path. */
function mirrorLocation(value: string, resolve: (p: string) => string): string {
  return isPostgresUrl(value) || value === ":memory:" ? value.trim() : resolve(value);
}

export function loadConfig(env: Env, flags: ConfigFlags = {}, cwd = process.cwd()): Config {
  const resolve = (p: string): string => path.resolve(cwd, p);
  return Object.freeze({
    cwd,
    rpcUrl: url("TRACE_RPC_URL", flags.rpcUrl ?? env.TRACE_RPC_URL) ?? "http://127.0.0.1:8545",
    privateKey: hexKey("TRACE_PRIVATE_KEY", env.TRACE_PRIVATE_KEY),
    keystore: nonEmpty(env.TRACE_KEYSTORE) === undefined ? undefined : resolve(env.TRACE_KEYSTORE!.trim()),
    keystorePassword: env.TRACE_KEYSTORE_PASSWORD,
    relayerKey: hexKey("TRACE_RELAYER_KEY", env.TRACE_RELAYER_KEY),
    contract: address("TRACE_CONTRACT", flags.contract ?? env.TRACE_CONTRACT),
    deploymentsDir: resolve(nonEmpty(env.TRACE_DEPLOYMENTS_DIR) ?? "deployments"),
    // A postgres:// URL is a server, never a path to resolve (and never a file to create).
    db: mirrorLocation(nonEmpty(flags.db ?? env.TRACE_DB) ?? "data/trace.db", resolve),
    dbReadUrl: nonEmpty(env.TRACE_DB_READ_URL),
    epcisDb: resolve(nonEmpty(env.TRACE_EPCIS_DB) ?? "data/epcis.db"),
    contentDir: resolve(nonEmpty(flags.contentDir ?? env.TRACE_CONTENT_DIR) ?? "data/content"),
    confirmations: integer("TRACE_CONFIRMATIONS", flags.confirmations ?? env.TRACE_CONFIRMATIONS, 0, 10_000),
    port: integer("TRACE_PORT", flags.port ?? env.TRACE_PORT, 0, 65_535) ?? 3000,
    host: nonEmpty(flags.host ?? env.TRACE_HOST) ?? "127.0.0.1",
    explorerUrl: url("TRACE_EXPLORER_URL", env.TRACE_EXPLORER_URL),
    apiUrl: url("TRACE_API_URL", env.TRACE_API_URL),
    resolverBase: url("TRACE_RESOLVER_BASE", env.TRACE_RESOLVER_BASE) ?? "https://id.traceanchor.example",
  });
}

/** Confirmations before a row is final: 0 on a local development chain, 12 elsewhere, unless set. */
export function confirmationsFor(config: Config, chainId: bigint): number {
  return config.confirmations ?? (chainId === 31337n ? 0 : 12);
}
