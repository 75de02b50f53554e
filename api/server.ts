/**
 * Runs the API: opens the mirror read-only and the scans file, listens, and closes gracefully on
 * SIGINT/SIGTERM. `traceanchor serve` calls `startServer` with the deps it builds (its own indexer's
 * status, an `acceptUpload` over a writable handle); run alone it reads the environment.
 *
 *   node -r ts-node/register/transpile-only api/server.ts
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pino, { type Logger } from "pino";
import { openStore } from "../mirror/store";
import { buildApp, type AppDeps } from "./app";
import { parseApiEnv, type ApiConfig } from "./config";

export interface StartServerOptions extends Partial<Omit<AppDeps, "config">> {
  readonly config?: ApiConfig;
  /** Install SIGINT/SIGTERM handlers that close the server (default true). */
  readonly handleSignals?: boolean;
}

export interface RunningServer {
  /** The address it listens on, e.g. http://127.0.0.1:3000. */
  readonly url: string;
  close(): Promise<void>;
}

export function openScansDb(file: string): Database.Database {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  return db;
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const config = options.config ?? parseApiEnv();
  const log: Logger = options.log ?? pino({ level: config.logLevel });
  const ownDb = options.db === undefined;
  const db =
    options.db ??
    (await openStore({
      db: config.dbPath,
      readonly: true,
      ...(config.dbReadUrl === undefined ? {} : { readUrl: config.dbReadUrl }),
      application: "traceanchor-api",
    }));
  // On PostgreSQL the scan counts and link sets live in the mirror's database (schema trace_state).
  const pgState = "engine" in db && db.engine === "postgres" ? db : undefined;
  const ownScans =
    options.scansDb === undefined && config.scans && pgState === undefined
      ? openScansDb(config.scansDbPath)
      : undefined;
  const scansDb = options.scansDb ?? (config.scans ? (pgState ?? ownScans) : undefined);

  const linksDb = options.linksDb ?? pgState;
  const app = await buildApp({
    ...options,
    db,
    ...(scansDb === undefined ? {} : { scansDb }),
    ...(linksDb === undefined ? {} : { linksDb }),
    config,
    log,
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close();
      if (ownDb) await Promise.resolve(db.close());
      ownScans?.close();
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, "closing");
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "close failed");
        process.exit(1);
      },
    );
  };
  if (options.handleSignals !== false) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  try {
    const url = await app.listen({ port: config.port, host: config.host });
    return {
      url,
      close: async () => {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
        await close();
      },
    };
  } catch (err) {
    await close();
    // Another process holds the address: say which variable picks it, not just the errno.
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new Error(
        `TRACE_PORT: ${config.host}:${config.port} is already in use by another process; stop it or set TRACE_PORT (or TRACE_HOST) to a free address`,
      );
    throw err;
  }
}

if (require.main === module) {
  startServer().catch((err: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: "fatal", msg: "server failed to start", err: String(err) })}\n`);
    process.exit(1);
  });
}
