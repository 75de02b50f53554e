/**
 * A replica reading a streaming standby (TRACE_DB_READ_URL): a second local cluster made with
 * `pg_basebackup -R` from a primary that holds the mirror. The API serves item documents read from
 * the standby, sees the primary's new rows once they have streamed, reports the standby's lag in
 * /readyz and /metrics, and is not ready once the standby stops answering.
 */
import { expect } from "chai";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import type { ItemDoc } from "../../api/documents";
import { copyMirror } from "../../mirror/copy";
import { openDatabase } from "../../mirror/db";
import { openStore, type MirrorStore } from "../../mirror/store";
import { clusterBinaries, startCluster, startStandby, type PgServer } from "../helpers/postgres";
import { ACME, acmeGtin, anchorBatch, createMirrorFixture, GTIN, type MirrorFixture } from "./fixtures";
import { PUBLIC_URL } from "./helper";

const withDb = (url: string, db: string): string => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("api: a replica reading a streaming standby (TRACE_DB_READ_URL)", function () {
  this.timeout(180_000);
  let primary: (PgServer & { port: number }) | undefined;
  let standby: (PgServer & { port: number }) | undefined;
  let fixture: MirrorFixture;
  let writer: MirrorStore;
  let reader: MirrorStore;
  let app: Awaited<ReturnType<typeof buildApp>>;

  before(async function () {
    const { binDir, source } = clusterBinaries();
    primary = await startCluster(binDir, source, ["wal_level = replica", "max_wal_senders = 4"]);
    const { Client } = await import("pg");
    const admin = new Client({ connectionString: primary.url });
    await admin.connect();
    await admin.query("CREATE DATABASE mirror");
    await admin.end();
    const primaryUrl = withDb(primary.url, "mirror");
    writer = await openStore({ db: primaryUrl });
    fixture = await createMirrorFixture();
    const db = openDatabase(fixture.dbPath, { readonly: true });
    try {
      if (writer.engine !== "postgres") throw new Error("expected PostgreSQL");
      await copyMirror(db, writer.pool);
    } finally {
      db.close();
    }
    standby = await startStandby(primary);
    reader = await openStore({ db: primaryUrl, readonly: true, readUrl: withDb(standby.url, "mirror") });
    app = await buildApp({
      db: reader,
      config: apiConfig({ publicUrl: PUBLIC_URL, dbPath: primaryUrl, contentDir: fixture.contentDir, rateLimit: 0 }),
      processMetrics: false,
    });
    await app.ready();
  });

  after(async function () {
    await app?.close();
    await reader?.close();
    await writer?.close();
    standby?.stop();
    primary?.stop();
    fixture?.cleanup();
  });

  it("reads from the standby, not the primary", async function () {
    if (reader.engine !== "postgres") throw new Error("expected PostgreSQL");
    const [row] = (await reader.readPool.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby")).rows;
    expect(row?.standby).to.equal(true);
    const res = await app.inject({ method: "GET", url: `/01/${GTIN}/21/SER1` });
    expect(res.statusCode).to.equal(200);
    expect(res.json<ItemDoc>().verdict).to.equal("genuine");
  });

  it("serves what the primary commits once it has streamed, and reports the lag", async function () {
    const gtin = acmeGtin("30001");
    const before = await app.inject({ method: "GET", url: `/01/${gtin}/21/NEW1` });
    expect(before.statusCode).to.equal(404);
    await anchorBatch(fixture, {
      name: "standby-items.csv",
      brandId: ACME.brandId,
      kind: "identity",
      text: `gtin,serial\n${gtin},NEW1\n`,
      blockNumber: 40,
    });
    const db = openDatabase(fixture.dbPath, { readonly: true });
    try {
      if (writer.engine !== "postgres") throw new Error("expected PostgreSQL");
      await copyMirror(db, writer.pool);
    } finally {
      db.close();
    }
    const started = Date.now();
    const doc = await until("the new item on the standby", async () => {
      const res = await app.inject({ method: "GET", url: `/01/${gtin}/21/NEW1` });
      return res.statusCode === 200 ? res.json<ItemDoc>() : undefined;
    });
    expect(doc.verdict).to.equal("genuine");
    expect(Date.now() - started).to.be.below(10_000);
    const ready = await until("a caught-up standby", async () => {
      const res = await app.inject({ method: "GET", url: "/readyz" });
      const body = res.json<{ engine: string; standby: { lagBytes: number | null; lagSeconds: number | null } }>();
      return body.standby?.lagBytes === 0 ? { status: res.statusCode, body } : undefined;
    });
    expect(ready.status).to.equal(200);
    expect(ready.body.engine).to.equal("postgres");
    expect(ready.body.standby.lagSeconds).to.equal(0);
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).to.match(/^trace_db_standby_lag_bytes 0$/m);
    expect(metrics.body).to.match(/^trace_db_standby_lag_seconds 0$/m);
  });

  it("is not ready once the standby stops answering", async function () {
    standby?.stop();
    const res = await until("not ready", async () => {
      const r = await app.inject({ method: "GET", url: "/readyz" });
      return r.statusCode === 503 ? r : undefined;
    });
    expect(res.json<{ reason: string }>().reason).to.equal("standby-unreachable");
  });
});
