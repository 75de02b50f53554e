/**
 * Property-based fuzzing of every route: thousands of malformed paths, queries, headers and bodies.
 * Whatever comes in, the API answers below 500 with a parseable body, keeps running, and leaves the
 * mirror exactly as it was, on both engines. Uploads go through the real path (`createIngestUpload`
 * over a writable handle of the fixture mirror, or of its PostgreSQL copy, as `serve` wires it), fed
 * content that is nearly right; the "unchanged" check compares `storeChecksum` (a digest of every
 * mirror table's rows) and the content directory, and the last suite shows that one right upload
 * does change that digest.
 */
import fs from "node:fs";
import { expect } from "chai";
import fc from "fast-check";
import { createIngestUpload } from "../../api/upload";
import { storeChecksum } from "../../mirror/checksum";
import { openDatabase } from "../../mirror/db";
import { sqliteStore, type Engine, type MirrorStore } from "../../mirror/store";
import { describeEngines } from "../helpers/engines";
import { GTIN, createMirrorFixture, type MirrorFixture } from "./fixtures";
import { buildTestApp, closePgMirror, pgMirrorOf, type TestApp } from "./helper";

const RUNS = Number(process.env.TRACE_FUZZ_RUNS ?? 2500);

/** What the mirror holds: every table's rows (schema_migrations aside) and the content directory's files. */
async function stored(store: MirrorStore, contentDir: string): Promise<{ tables: string; files: string[] }> {
  return { tables: await storeChecksum(store), files: fs.readdirSync(contentDir).sort() };
}

/** The mirror the API reads, writable for uploads: a second handle on the SQLite fixture, or its PostgreSQL copy. */
async function writableMirror(engine: Engine, fixture: MirrorFixture): Promise<MirrorStore> {
  return engine === "postgres" ? pgMirrorOf(fixture) : sqliteStore(openDatabase(fixture.dbPath));
}

/** Closes what `writableMirror` opened and the fixture (with its PostgreSQL copy). */
async function release(writable: MirrorStore | undefined, fixture: MirrorFixture | undefined): Promise<void> {
  if (writable?.engine === "sqlite") await writable.close();
  if (fixture !== undefined) {
    await closePgMirror(fixture);
    fixture.cleanup();
  }
}

/**
 * Content files that are nearly the pending batch's and must all be refused: each changes what a
 * record says, how many there are, or what the header claims. (Not reordering lines or re-spacing
 * JSON: those give the same root, and the upload would rightly be accepted.)
 */
function nearlyRight(content: string) {
  const lines = content.split("\n").filter((line) => line !== "");
  const header = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
  const records = lines.slice(1);
  const join = (ls: string[]): string => `${ls.join("\n")}\n`;
  const editRecord = (i: number, edit: (r: Record<string, unknown>) => unknown): string => {
    const copy = [...records];
    copy[i % copy.length] = JSON.stringify(edit(JSON.parse(copy[i % copy.length] ?? "{}") as Record<string, unknown>));
    return join([lines[0] ?? "", ...copy]);
  };
  const hex = fc.constantFrom(..."0123456789abcdef");
  return fc.oneof(
    fc.tuple(fc.nat(), fc.nat({ max: 31 }), hex).map(([i, at, c]) =>
      editRecord(i, (r) => {
        const salt = String(r.salt);
        const changed = `${salt.slice(0, at)}${c}${salt.slice(at + 1)}`;
        return {
          ...r,
          salt: changed === salt ? `${salt.slice(0, at)}${c === "0" ? "1" : "0"}${salt.slice(at + 1)}` : changed,
        };
      }),
    ),
    fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 8 })).map(([i, extra]) =>
      editRecord(i, (r) => ({
        ...r,
        item: { ...(r.item as object), serial: `${String((r.item as { serial: string }).serial)}${extra}` },
      })),
    ),
    fc.nat().map((i) => join([lines[0] ?? "", ...records.filter((_, j) => j !== i % records.length)])),
    fc.nat().map((i) => join([lines[0] ?? "", ...records, records[i % records.length] ?? ""])),
    fc
      .constantFrom<Record<string, unknown>>(
        { leafCount: records.length + 1 },
        { root: `0x${"ab".repeat(32)}` },
        { kind: "trace" },
        { v: 2 },
      )
      .map((change) => join([JSON.stringify({ ...header, ...change }), ...records])),
    // Cut inside the last record at the latest (without only its final newline it would be whole).
    fc.nat({ max: content.length - 3 }).map((cut) => content.slice(0, cut + 1)),
    fc.string({ maxLength: 40 }).map((garbage) => join([...lines, garbage === "" ? "{}" : garbage])),
  );
}

describeEngines("api: fuzz (no input produces a 5xx)", function (engine) {
  this.timeout(900_000);
  let fixture: MirrorFixture;
  let t: TestApp | undefined;
  let writable: MirrorStore;
  let before_: Awaited<ReturnType<typeof stored>>;

  before(async function () {
    fixture = await createMirrorFixture();
    writable = await writableMirror(engine, fixture);
    before_ = await stored(writable, fixture.contentDir);
    t = await buildTestApp(fixture, {
      engine,
      acceptUpload: createIngestUpload({ store: writable, contentDir: fixture.contentDir }),
      config: { rateLimit: 1_000_000, maxUploadBytes: 4096 },
    });
  });

  after(async function () {
    await t?.close();
    await release(writable, fixture);
  });

  const app = () => {
    if (t === undefined) throw new Error("the app is built in the suite's before hook");
    return t.app;
  };

  /** Built once the fixture exists: some segments are its roots. */
  function arbitraries() {
    const known = (): string[] => [
      GTIN,
      "9506000134352",
      "SER1",
      "LOT1",
      "a.b-c%2Fd",
      fixture.batches.identity.root,
      fixture.pending.root,
      "1",
      "2",
      "0",
      "-1",
      "99999999999999999999",
      "0x",
      `0x${"00".repeat(32)}`,
    ];

    const rawSegment = fc.oneof(
      fc.constantFrom(...known()),
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
      fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
      fc.stringMatching(/^[!-~]{0,40}$/).map((s) => s.replace(/[?#/]/g, "")),
      fc.constantFrom(
        "%",
        "%zz",
        "%E0%A4%A",
        "%00",
        "..",
        ".",
        "%2e%2e",
        "%2F",
        "%C0%AF",
        "\u00e9",
        "x".repeat(300),
        "9".repeat(30),
      ),
      fc.nat({ max: 10 ** 15 }).map(String),
    );

    const path = fc.oneof(
      fc
        .tuple(rawSegment, fc.option(rawSegment), fc.option(rawSegment), fc.array(rawSegment, { maxLength: 3 }))
        .map(
          ([gtin, lot, serial, extra]) =>
            `/01/${gtin}${lot === null ? "" : `/10/${lot}`}${serial === null ? "" : `/21/${serial}`}${extra.map((s) => `/${s}`).join("")}`,
        ),
      fc
        .tuple(fc.constantFrom("01", "10", "21", "22", "gtin", "ser", "00", ""), fc.array(rawSegment, { maxLength: 6 }))
        .map(([ai, rest]) => `/${ai}/${rest.join("/")}`),
      rawSegment.map((h) => `/v1/proofs/${h}`),
      fc
        .tuple(rawSegment, rawSegment, fc.constantFrom("", "/records", "/content", "/x", "/"))
        .map(([b, r, tail]) => `/v1/batches/${b}/${r}${tail}`),
      rawSegment.map((b) => `/v1/brands/${b}`),
      fc.constantFrom(
        "/v1/brands",
        "/v1/batches",
        "/healthz",
        "/readyz",
        "/metrics",
        "/docs/json",
        "/docs",
        "/",
        "//",
        "/01",
        "/01/",
      ),
      fc.array(rawSegment, { maxLength: 5 }).map((segments) => `/${segments.join("/")}`),
    );

    const queryValue = fc.oneof(
      rawSegment,
      fc.constantFrom("linkset", "all", "identity", "trace", "10", "0", "-5", "1e3", "", "1-2", "5-5"),
    );
    const query = fc.option(
      fc
        .array(
          fc.tuple(
            fc.constantFrom(
              "linkType",
              "brand",
              "kind",
              "cursor",
              "limit",
              "x",
              "__proto__",
              "constructor",
              "a[b]",
              "",
            ),
            queryValue,
          ),
          { maxLength: 5 },
        )
        .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
    );

    const headerValue = fc.stringMatching(/^[ -~]{0,80}$/);
    const headers = fc.record(
      {
        accept: fc.oneof(
          headerValue,
          fc.constantFrom("application/linkset+json", "text/html", "*/*;q=0", "application/json;q=abc", "text/*"),
        ),
        "if-none-match": fc.oneof(headerValue, fc.constantFrom("*", '"x"', 'W/"x"')),
        "content-type": fc.oneof(
          headerValue,
          fc.constantFrom("application/json", "application/x-ndjson", "multipart/form-data; boundary=x", "text/plain"),
        ),
        origin: headerValue,
        "access-control-request-method": fc.constantFrom("GET", "PUT", "DELETE", "x"),
        "x-forwarded-for": headerValue,
        range: headerValue,
      },
      { requiredKeys: [] },
    );

    const body = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom('{"a":1}', "{", "null", '{"__proto__":{"x":1}}', "x".repeat(10_000)),
      // The content of a batch already stored: "already-present" for its own root, wrong for any other.
      fc.constant("ingested-content"),
      nearlyRight(fs.readFileSync(fixture.pending.content, "utf8")),
    );

    const method = fc.constantFrom("GET", "GET", "GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE", "PATCH");
    return { method, path, query, headers, body };
  }

  it(`answers ${RUNS} random requests below 500 with parseable bodies`, async function () {
    const { method, path, query, headers, body } = arbitraries();
    const content = fs.readFileSync(fixture.batches.identity.content);
    let sent = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
        const payload = b === "ingested-content" ? content : b;
        let res;
        try {
          res = await app().inject({
            method: m as "GET",
            url: `${p}${q ?? ""}`,
            headers: h,
            ...(payload === undefined || m === "GET" || m === "HEAD" ? {} : { payload }),
          });
        } catch (err) {
          // light-my-request refuses some inputs (e.g. invalid header values) before the server sees them.
          if (err instanceof TypeError || (err as { code?: string }).code?.startsWith("ERR_") === true) return;
          throw err;
        }
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${m} ${p}${q ?? ""} → ${res.body.slice(0, 300)}`).to.be.below(500);
        const type = String(res.headers["content-type"] ?? "");
        if (m !== "HEAD" && res.statusCode !== 304 && res.statusCode !== 204 && type.includes("json")) {
          expect(() => {
            JSON.parse(res.body);
          }, `${m} ${p}`).not.to.throw();
        }
        if (res.statusCode >= 400 && type.includes("json") && m !== "HEAD") {
          const err = JSON.parse(res.body) as { error?: unknown; message?: unknown };
          expect(err.error, res.body).to.be.a("string");
          expect(err.message, res.body).to.be.a("string");
        }
      }),
      { numRuns: RUNS },
    );
    if (process.env.TRACE_FUZZ_VERBOSE !== undefined) console.log(sent, [...statuses].sort());
    expect(sent).to.be.greaterThan(RUNS * 0.9);
    expect([...statuses.keys()]).to.include.members([200, 400, 404]);
  });

  it("answers thousands of random Digital Link keys below 500", async function () {
    const ai82ish = fc.string({
      unit: fc.constantFrom(..."!\"%&'()*+,-./0123456789:;<=>?ABCZ_az é\u0000~#".split("")),
      maxLength: 25,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[0-9]{1,16}$/),
        fc.option(ai82ish),
        fc.option(ai82ish),
        async (gtin, lot, serial) => {
          const url = `/01/${gtin}${lot === null ? "" : `/10/${encodeURIComponent(lot)}`}${serial === null ? "" : `/21/${encodeURIComponent(serial)}`}`;
          const res = await app().inject({ url });
          expect(res.statusCode, `${url} → ${res.body.slice(0, 200)}`).to.be.oneOf([200, 400, 404]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`refuses ${Math.ceil(RUNS / 5)} nearly right uploads of a pending batch through the real upload path`, async function () {
    const url = `/v1/batches/1/${fixture.pending.root}/content`;
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(nearlyRight(fs.readFileSync(fixture.pending.content, "utf8")), async (payload) => {
        const res = await app().inject({
          method: "PUT",
          url,
          payload,
          headers: { "content-type": "application/x-ndjson" },
        });
        statuses.add(res.statusCode);
        expect(res.statusCode, `${res.body.slice(0, 300)}\n${payload.slice(0, 400)}`).to.equal(422);
        expect(JSON.parse(res.body)).to.include({ error: "MISMATCH" });
      }),
      { numRuns: Math.ceil(RUNS / 5) },
    );
    expect([...statuses]).to.deep.equal([422]);
  });

  it("is still serving, and the mirror is unchanged", async function () {
    expect((await app().inject({ url: "/healthz" })).statusCode).to.equal(200);
    expect((await app().inject({ url: `/01/${GTIN}/21/SER1` })).statusCode).to.equal(200);
    expect(await stored(writable, fixture.contentDir)).to.deep.equal(before_);
  });
});

describeEngines('api: fuzz\'s "mirror unchanged" check can fail', function (engine) {
  it("a right upload through the same path changes the digest; a wrong one does not", async function () {
    const fixture = await createMirrorFixture();
    const writable = await writableMirror(engine, fixture);
    const t = await buildTestApp(fixture, {
      engine,
      acceptUpload: createIngestUpload({ store: writable, contentDir: fixture.contentDir }),
    });
    try {
      const url = `/v1/batches/1/${fixture.pending.root}/content`;
      const headers = { "content-type": "application/x-ndjson" };
      const before = await stored(writable, fixture.contentDir);
      const wrong = fs.readFileSync(fixture.pending.content, "utf8").replace(/"salt":"[0-9a-f]/, '"salt":"x');
      expect((await t.app.inject({ method: "PUT", url, payload: wrong, headers })).statusCode).to.equal(422);
      expect(await stored(writable, fixture.contentDir)).to.deep.equal(before);
      const right = await t.app.inject({
        method: "PUT",
        url,
        payload: fs.readFileSync(fixture.pending.content),
        headers,
      });
      expect(right.statusCode, right.body).to.equal(200);
      const after = await stored(writable, fixture.contentDir);
      expect(after.tables).to.not.equal(before.tables);
      expect(after.files).to.include(`${fixture.pending.root}.ndjson`);
    } finally {
      await t.close();
      await release(writable, fixture);
    }
  });
});
