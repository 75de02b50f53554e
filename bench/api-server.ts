/**
 * The servers `npm run bench:api` measures, each run by bench/api.ts in its own child process from
 * the compiled build (dist/bench/api-server.js, plain `node`, as `traceanchor serve` runs), never
 * through ts-node, whose REPL support loads node:domain and slows every EventEmitter.
 *
 *   node dist/bench/api-server.js item <mirror.db> <scans.db>   the real app over the mirror
 *   node dist/bench/api-server.js item-pg <postgres://…>        the real app over a PostgreSQL mirror,
 *       scans in its trace_state schema, as `TRACE_DB=postgres://… traceanchor serve` runs it
 *   node dist/bench/api-server.js bare                          bare Fastify, a constant JSON object
 *   node dist/bench/api-server.js bare-doc <body.json>          bare Fastify, a fixed item document
 *   node dist/bench/api-server.js bare-seek <mirror.db> <body.json>
 *       the fixed document after the smallest read of the item there is: one key seek for its leaf index
 *   node dist/bench/api-server.js bare-read <mirror.db> <body.json>
 *       the fixed document after the item route's own read of the item (items.serial, through the mirror)
 *
 * Reports `{ url }` to the parent over IPC once listening; closes on SIGTERM.
 */
import fs from "node:fs";
import Database from "better-sqlite3";
import Fastify, { type FastifyInstance } from "fastify";
import { buildApp } from "../api/app";
import { apiConfig } from "../api/config";
import { createMirror } from "../api/mirror";
import { openDatabase } from "../mirror/db";
import { openStore } from "../mirror/store";

export const SERVER_MODES = ["item", "item-pg", "bare", "bare-doc", "bare-seek", "bare-read"] as const;
export type ServerMode = (typeof SERVER_MODES)[number];

/**
 * A bare route at /01/:gtin/21/:serial that reads the item from the mirror with `read`, inside the
 * mirror's per-turn read transaction as the app does, then sends the fixed document (404 when the
 * read finds nothing): what that read costs per request, without the app's proof, rendering, scans,
 * validation or hooks.
 */
function bareWithRead(body: string, read: (gtin: string, serial: string) => Promise<boolean>): FastifyInstance {
  const app = Fastify();
  app.get<{ Params: { gtin: string; serial: string } }>("/01/:gtin/21/:serial", async (request, reply) => {
    if (!(await read(request.params.gtin, request.params.serial))) void reply.code(404).send({ error: "NOT_FOUND" });
    else void reply.type("application/json; charset=utf-8").send(body);
  });
  return app;
}

async function build(mode: ServerMode, args: string[]): Promise<FastifyInstance> {
  if (mode === "bare") {
    const app = Fastify();
    // eslint-disable-next-line @typescript-eslint/require-await -- the bare baseline of the ratio target is Fastify's async-handler hello world; kept as measured
    app.get("/", async () => ({ hello: "world" }));
    return app;
  }
  if (mode === "bare-doc") {
    // The same bytes an item request gets, with no lookup, proof, scan, validation or hooks: what
    // Fastify and the socket cost for a response of this size.
    const body = fs.readFileSync(args[0] ?? "", "utf8");
    const app = Fastify();
    app.get("/*", async (_request, reply) => reply.type("application/json; charset=utf-8").send(body));
    return app;
  }
  if (mode === "bare-seek" || mode === "bare-read") {
    const db = openDatabase(args[0] ?? "", { readonly: true });
    // The mirror's connection settings (mmap, page cache), as the app has.
    const mirror = createMirror(db, { treeCacheBytes: 0 });
    const body = fs.readFileSync(args[1] ?? "", "utf8");
    if (mode === "bare-read")
      return bareWithRead(
        body,
        async (gtin, serial) => (await mirror.items.serial(gtin, serial)).identities.length > 0,
      );
    return bareWithRead(body, (gtin, serial) => mirror.items.isKeyed(gtin, serial));
  }
  const config = apiConfig({ rateLimit: 0, scanThreshold: 1_000_000, publicUrl: "https://id.example.com" });
  if (mode === "item-pg") {
    const store = await openStore({ db: args[0] ?? "", readonly: true, application: "bench-api" });
    if (store.engine !== "postgres") throw new Error("item-pg needs a postgres:// URL");
    return (await buildApp({ db: store, scansDb: store, config, processMetrics: true })) as unknown as FastifyInstance;
  }
  const db = openDatabase(args[0] ?? "", { readonly: true });
  const scansDb = new Database(args[1] ?? "");
  scansDb.pragma("journal_mode = WAL");
  scansDb.pragma("synchronous = NORMAL");
  return (await buildApp({
    db,
    scansDb,
    config,
    processMetrics: true,
  })) as unknown as FastifyInstance;
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  const known = SERVER_MODES.find((m) => m === mode);
  if (known === undefined) throw new Error(`unknown mode ${String(mode)}`);
  const app = await build(known, args);
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
  process.send?.({ url });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
