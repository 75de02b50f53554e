import fs from "node:fs";
import { expect } from "chai";
import { checkContent } from "../../core/content";
import { Readable } from "node:stream";
import {
  createIngestUpload,
  UPLOAD_STATUS,
  type AcceptUpload,
  type AcceptUploadArgs,
  type UploadOutcome,
} from "../../api/upload";
import { UPLOAD_CODES } from "../../mirror/write/upload";
import { storeChecksum } from "../../mirror/checksum";
import { openDatabase } from "../../mirror/db";
import { sqliteStore, type Engine, type MirrorStore } from "../../mirror/store";
import { describeEngines } from "../helpers/engines";
import { GTIN, createMirrorFixture, type MirrorFixture } from "./fixtures";
import { buildTestApp, closePgMirror, pgMirrorOf, type TestApp } from "./helper";

/** A fake ingester: checks the stream against the anchor with core's checkContent and records what it saw. */
function fakeAcceptUpload(): { fn: AcceptUpload; calls: AcceptUploadArgs[] } {
  const calls: AcceptUploadArgs[] = [];
  const fn: AcceptUpload = async (args) => {
    calls.push(args);
    const check = await checkContent(
      { input: args.stream, file: "upload" },
      { root: args.anchor.root, kind: args.anchor.kind, leafCount: args.anchor.leafCount },
    );
    return check.ok ? { ok: true } : { ok: false, code: "MISMATCH", check: check.code, reason: check.reason };
  };
  return { fn, calls };
}

/**
 * The mirror the API serves, writable, as `serve` hands it to the upload path: a second handle on
 * the SQLite fixture, or the fixture's PostgreSQL copy (which the fixture's cleanup closes); `run`
 * executes one statement with `$1`-style parameters.
 */
async function writableMirror(
  engine: Engine,
  fixture: MirrorFixture,
): Promise<{ store: MirrorStore; run(sql: string, ...params: unknown[]): Promise<unknown[]>; close(): void }> {
  if (engine === "postgres") {
    const store = await pgMirrorOf(fixture);
    return {
      store,
      run: async (sql, ...params) => (await store.pool.query(sql, params)).rows as unknown[],
      close: () => undefined,
    };
  }
  const db = openDatabase(fixture.dbPath);
  return {
    store: sqliteStore(db),
    run(sql, ...params) {
      const statement = db.prepare(sql.replace(/\$\d+/g, "?"));
      return Promise.resolve(statement.reader ? statement.all(...params) : (statement.run(...params), []));
    },
    close: () => db.close(),
  };
}

describeEngines("api: PUT /v1/batches/{brandId}/{root}/content", function (engine) {
  let fixture: MirrorFixture;
  let t: TestApp;

  beforeEach(async function () {
    fixture = await createMirrorFixture();
  });
  afterEach(async function () {
    await t.close();
    await closePgMirror(fixture);
    fixture.cleanup();
  });

  const put = (
    url: string,
    payload: string | Buffer,
    headers: Record<string, string> = { "content-type": "application/x-ndjson" },
  ) => t.app.inject({ method: "PUT", url, payload, headers });
  const contentUrl = (root: string, brand = 1) => `/v1/batches/${brand}/${root}/content`;

  describe("with a fake acceptUpload", function () {
    let fake: ReturnType<typeof fakeAcceptUpload>;
    beforeEach(async function () {
      fake = fakeAcceptUpload();
      t = await buildTestApp(fixture, {
        engine,
        acceptUpload: fake.fn,
        config: { maxUploadBytes: 10_000 },
      });
    });

    it("accepts content that rebuilds the anchored root, passing the anchor from the mirror", async function () {
      const res = await put(contentUrl(fixture.pending.root), fs.readFileSync(fixture.pending.content));
      expect(res.statusCode, res.body).to.equal(200);
      expect(JSON.parse(res.body)).to.deep.equal({
        status: "accepted",
        brandId: "1",
        root: fixture.pending.root,
        leafCount: 2,
      });
      expect(fake.calls[0]?.anchor).to.deep.include({
        brandId: "1",
        root: fixture.pending.root,
        kind: "identity",
        leafCount: 2,
      });
      expect(fake.calls[0]?.maxBytes).to.equal(10_000);
    });

    it("422 with the reason for content of another batch", async function () {
      const res = await put(contentUrl(fixture.pending.root), fs.readFileSync(fixture.batches.revoked.content));
      expect(res.statusCode).to.equal(422);
      const body = JSON.parse(res.body) as { error: string; message: string };
      expect(body.error).to.equal("MISMATCH");
      expect(body.message).to.be.a("string").and.not.equal("");
    });

    it("422 for garbage", async function () {
      expect((await put(contentUrl(fixture.pending.root), "not json\n")).statusCode).to.equal(422);
    });

    it("404 for an anchor the mirror does not know (yet)", async function () {
      const res = await put(contentUrl(`0x${"ee".repeat(32)}`), "x");
      expect(res.statusCode).to.equal(404);
      expect(fake.calls).to.have.length(0);
    });

    it("200 already-present for the same content of an ingested batch, 422 for any other, storing nothing", async function () {
      const same = await put(
        contentUrl(fixture.batches.identity.root),
        fs.readFileSync(fixture.batches.identity.content),
      );
      expect(same.statusCode).to.equal(200);
      expect(JSON.parse(same.body)).to.include({ status: "already-present" });
      const other = await put(contentUrl(fixture.batches.identity.root), "anything");
      expect(other.statusCode).to.equal(422);
      expect(fake.calls).to.have.length(0);
    });

    it("413 when the declared size is over the limit", async function () {
      const res = await put(contentUrl(fixture.pending.root), Buffer.alloc(20_000, 0x61));
      expect(res.statusCode).to.equal(413);
      expect(JSON.parse(res.body)).to.include({ error: "TOO_LARGE" });
      expect(fake.calls).to.have.length(0);
    });

    it("streams any content type, or none", async function () {
      const body = fs.readFileSync(fixture.pending.content);
      expect(
        (await put(contentUrl(fixture.pending.root), body, { "content-type": "application/octet-stream" })).statusCode,
      ).to.equal(200);
      expect((await put(contentUrl(fixture.pending.root), body, {})).statusCode).to.equal(200);
    });

    it("400 for a malformed brand id or root", async function () {
      expect((await put("/v1/batches/x/0x12/content", "x")).statusCode).to.equal(400);
    });
  });

  describe("maps each outcome code to its HTTP status by a table", function () {
    // The statuses documented in docs/operations.md ("Content uploads"); ANCHOR_CHANGED is a conflict with the chain as it is now.
    const documented: Record<(typeof UPLOAD_CODES)[number], number> = {
      UNKNOWN_ANCHOR: 404,
      TOO_LARGE: 413,
      MISMATCH: 422,
      ANCHOR_CHANGED: 409,
      UNSTORABLE: 507,
      INCOMPLETE_BODY: 400,
    };

    it("has a status for every code, as documented", function () {
      expect(UPLOAD_STATUS).to.deep.equal(documented);
    });

    for (const code of UPLOAD_CODES) {
      it(`${code} → ${documented[code]}, with the code as error and the reason as message`, async function () {
        const outcome: UploadOutcome =
          code === "MISMATCH"
            ? { ok: false, code, check: "ROOT", reason: "a reason that names no status" }
            : { ok: false, code, reason: "a reason that names no status" };
        t = await buildTestApp(fixture, {
          engine,
          acceptUpload: async ({ stream }) => {
            for await (const chunk of stream) void chunk;
            return outcome;
          },
        });
        const res = await put(contentUrl(fixture.pending.root), fs.readFileSync(fixture.pending.content));
        expect(res.statusCode, res.body).to.equal(documented[code]);
        expect(JSON.parse(res.body)).to.include({ error: code, message: "a reason that names no status" });
      });
    }
  });

  it("503 when no acceptUpload is wired", async function () {
    t = await buildTestApp(fixture, { engine });
    const res = await put(contentUrl(fixture.pending.root), fs.readFileSync(fixture.pending.content));
    expect(res.statusCode).to.equal(503);
    expect(JSON.parse(res.body)).to.include({ error: "UPLOADS_DISABLED" });
  });

  describe("with the indexer's acceptUpload on a writable handle", function () {
    it("stores matching content, after which the item resolves and its records page", async function () {
      const writable = await writableMirror(engine, fixture);
      try {
        t = await buildTestApp(fixture, {
          engine,
          acceptUpload: createIngestUpload({ store: writable.store, contentDir: fixture.contentDir }),
        });
        expect((await t.app.inject({ url: `/01/${GTIN}/21/PEND1` })).statusCode).to.equal(404);
        const res = await put(contentUrl(fixture.pending.root), fs.readFileSync(fixture.pending.content));
        expect(res.statusCode, res.body).to.equal(200);
        expect(fs.existsSync(`${fixture.contentDir}/${fixture.pending.root}.ndjson`)).to.equal(true);
        const item = await t.app.inject({ url: `/01/${GTIN}/21/PEND1` });
        expect(item.statusCode).to.equal(200);
        expect((JSON.parse(item.body) as { verdict: string }).verdict).to.equal("genuine");
        expect((await t.app.inject({ url: `/v1/batches/1/${fixture.pending.root}/records` })).statusCode).to.equal(200);
      } finally {
        writable.close();
      }
    });

    it("409 ANCHOR_CHANGED when a reorg removes the anchor while its content streams, storing nothing", async function () {
      const writable = await writableMirror(engine, fixture);
      try {
        t = await buildTestApp(fixture, {
          engine,
          acceptUpload: createIngestUpload({ store: writable.store, contentDir: fixture.contentDir }),
        });
        const lines = fs.readFileSync(fixture.pending.content, "utf8").split(/(?<=\n)/);
        // What the indexer's rollback does to the anchor, between the upload's first read of it and its commit.
        const reorg = new Readable({
          read() {
            const next = lines.shift();
            if (next !== undefined) this.push(next);
            else
              void writable.run("DELETE FROM anchors WHERE root = $1", fixture.pending.root).then(
                () => this.push(null),
                (error: Error) => this.destroy(error),
              );
          },
        });
        const res = await t.app.inject({
          method: "PUT",
          url: contentUrl(fixture.pending.root),
          payload: reorg,
          headers: { "content-type": "application/x-ndjson" },
        });
        expect(res.statusCode, res.body).to.equal(409);
        expect(JSON.parse(res.body)).to.include({ error: "ANCHOR_CHANGED" });
        expect(
          await writable.run(
            "SELECT CAST(count(*) AS integer) AS n FROM records r JOIN anchors a USING (batch_id) WHERE a.root = $1",
            fixture.pending.root,
          ),
        ).to.deep.equal([{ n: 0 }]);
      } finally {
        writable.close();
      }
    });

    it("refuses mismatching content with 422 and changes nothing", async function () {
      const writable = await writableMirror(engine, fixture);
      try {
        t = await buildTestApp(fixture, {
          engine,
          acceptUpload: createIngestUpload({ store: writable.store, contentDir: fixture.contentDir }),
        });
        const before = await storeChecksum(writable.store);
        const res = await put(contentUrl(fixture.pending.root), fs.readFileSync(fixture.batches.revoked.content));
        expect(res.statusCode, res.body).to.equal(422);
        expect(await storeChecksum(writable.store)).to.equal(before);
      } finally {
        writable.close();
      }
    });
  });
});
