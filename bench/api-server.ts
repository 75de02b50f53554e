/**
 * The servers `npm run bench:api` measures, each run by bench/api.ts in its own child process from
 * the compiled build (dist/bench/api-server.js, plain `node`, as `traceanchor serve` runs), never
 * through ts-node, whose REPL support loads node:domain and slows every EventEmitter.
 *
 *   node dist/bench/api-server.js item <mirror.db> <scans.db>   the real app over the mirror
 *   node dist/bench/api-server.js bare                          bare Fastify, a constant JSON object
 *   node dist/bench/api-server.js bare-doc <body.json>          bare Fastify, a fixed item document
 *
 * Reports `{ url }` to the parent over IPC once listening; closes on SIGTERM.
 */
import fs from "node:fs";
import Database from "better-sqlite3";
import Fastify, { type FastifyInstance } from "fastify";
import { buildApp } from "../api/app";
import { apiConfig } from "../api/config";
import { openDatabase } from "../indexer/db";

export type ServerMode = "item" | "bare" | "bare-doc";

async function build(mode: ServerMode, args: string[]): Promise<FastifyInstance> {
  if (mode === "bare") {
    const app = Fastify();
    app.get("/", async () => ({ hello: "world" }));
    return app;
  }
  if (mode === "bare-doc") {
    // The same bytes an item request gets, with no lookup, proof, scan, validation or hooks: what
    // Fastify and the socket cost for a response of this size.
    const body = fs.readFileSync(args[0] ?? "", "utf8");
    const app = Fastify();
    app.get("/*", async (_request, reply) => reply.type("application/json; charset=utf-8").send(body));
    return app as unknown as FastifyInstance;
  }
  const db = openDatabase(args[0] ?? "", { readonly: true });
  const scansDb = new Database(args[1] ?? "");
  scansDb.pragma("journal_mode = WAL");
  scansDb.pragma("synchronous = NORMAL");
  return (await buildApp({
    db,
    scansDb,
    config: apiConfig({ rateLimit: 0, scanThreshold: 1_000_000, publicUrl: "https://id.example.com" }),
    processMetrics: true,
  })) as unknown as FastifyInstance;
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode !== "item" && mode !== "bare" && mode !== "bare-doc") throw new Error(`unknown mode ${String(mode)}`);
  const app = await build(mode, args);
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
