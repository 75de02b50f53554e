import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { verifyTypedData } from "ethers";
import type { LightMyRequestResponse } from "fastify";
import { currentLinkSets } from "../../api/brand-links";
import { parseLinksEnv } from "../../api/links-config";
import { createMirror } from "../../api/mirror";
import {
  LINK_SET_POLL_MS,
  createLinkSetRepository,
  type LinkSetRepository,
  type StoredLinkSet,
} from "../../api/repositories/link-sets";
import { MAX_CLOCK_SKEW_SECONDS } from "../../api/routes/v1/links";
import type { LinkSetMessage } from "../../core/link-set";
import { describeEngines } from "../helpers/engines";
import { ACME, CHAIN_ID, CONTRACT, FAKE, GTIN, GTIN13, ORPHAN_GTIN, acmeGtin, type MirrorFixture } from "./fixtures";
import { buildTestApp, closePgMirror } from "./helper";
import {
  ACME_ADMIN,
  FAKE_ADMIN,
  FIXTURE_DOMAIN,
  STRANGER,
  buildLinksApp,
  closeLinkStore,
  createLinksFixture,
  fixtureMirror,
  linkStoreLocation,
  openLinkStore,
  pip,
  releasePrefix,
  secondsAgo,
  sign,
  signedBody,
  transferAdmin,
  type LinkStore,
  type LinksTestApp,
} from "./links-helper";

const json = <T>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

interface LinkSetDoc {
  gtin: string;
  brandId: string;
  issuedAt: string;
  signer: string;
  signature: string;
  digest: string;
  current: boolean;
  reason?: string;
  links: LinkSetMessage["links"];
  typedData: {
    domain: { name: string; version: string; chainId: number; verifyingContract: string };
    types: Record<string, Array<{ name: string; type: string }>>;
    primaryType: string;
    message: LinkSetMessage;
  };
}

interface Refusal {
  error: string;
  message: string;
  field?: string;
  expected?: string;
  signer?: string;
  prefix?: string;
  ownerBrandId?: string;
  brandPrefixes?: string[];
  storedIssuedAt?: number;
}

const acmeSet = (overrides: Partial<LinkSetMessage> = {}): LinkSetMessage => ({
  brandId: String(ACME.brandId),
  gtin: GTIN,
  issuedAt: secondsAgo(3600),
  links: [
    pip(),
    pip({
      linkType: "gs1:instructions",
      href: "https://acme.example/care.pdf",
      title: "Care instructions",
      hreflang: "",
      mediaType: "application/pdf",
    }),
  ],
  ...overrides,
});

// On each engine both the mirror these routes read (the fixture, or its PostgreSQL copy) and the
// link sets they keep.
describeEngines("api: /v1/links", function (engine) {
  let fixture: MirrorFixture;
  let t: LinksTestApp;

  before(async function () {
    fixture = await createLinksFixture();
  });
  after(async function () {
    await closePgMirror(fixture);
    fixture.cleanup();
  });
  beforeEach(async function () {
    t = await buildLinksApp(fixture, await linkStoreLocation(engine, "links_http"), engine);
  });
  afterEach(async function () {
    await t.close();
  });

  const put = (gtin: string, payload: unknown) =>
    t.app.inject({ method: "PUT", url: `/v1/links/${gtin}`, payload: payload as Record<string, unknown> });
  const get = (gtin: string) => t.app.inject({ method: "GET", url: `/v1/links/${gtin}` });
  /** What GET says is stored: the body of a 200, or the status. */
  const stored = async (gtin = GTIN): Promise<string> => {
    const res = await get(gtin);
    return res.statusCode === 200 ? res.body : `HTTP ${res.statusCode}`;
  };

  describe("a link set signed by the brand's admin", function () {
    it("is kept and served back with the domain, types, message and signature that re-check it", async function () {
      const message = acmeSet();
      const res = await put(GTIN, await signedBody(ACME_ADMIN, message));
      expect(res.statusCode, res.body).to.equal(200);
      const doc = json<LinkSetDoc>(await get(GTIN));
      expect(doc).to.deep.include({
        gtin: GTIN,
        brandId: "1",
        signer: ACME_ADMIN.address.toLowerCase(),
        current: true,
      });
      expect(doc.reason).to.equal(undefined);
      expect(doc.issuedAt).to.equal(new Date(message.issuedAt * 1000).toISOString());
      expect(doc.typedData.message).to.deep.equal(message);
      expect(doc.links).to.deep.equal(message.links);
      expect(doc.typedData.domain).to.deep.equal({
        name: "TraceAnchor Links",
        version: "1",
        chainId: CHAIN_ID,
        verifyingContract: CONTRACT,
      });
      expect(doc.typedData.primaryType).to.equal("LinkSet");
      // Anyone re-checks it with ethers alone, from the document.
      expect(verifyTypedData(doc.typedData.domain, doc.typedData.types, doc.typedData.message, doc.signature)).to.equal(
        ACME_ADMIN.address,
      );
      expect(json<LinkSetDoc>(res)).to.deep.equal(doc);
    });

    it("is accepted without a domain in the body (the mirror's is used) and under a GTIN-13 path", async function () {
      const message = acmeSet({ issuedAt: secondsAgo(3000) });
      const res = await put(GTIN13, { linkSet: message, signature: await sign(ACME_ADMIN, message) });
      expect(res.statusCode, res.body).to.equal(200);
      expect(json<LinkSetDoc>(await get(GTIN13)).typedData.message.issuedAt).to.equal(message.issuedAt);
    });

    it("replaces the stored set only with a greater issuedAt; an older or equal one is 409 and changes nothing", async function () {
      const first = acmeSet({ issuedAt: secondsAgo(2000) });
      expect((await put(GTIN, await signedBody(ACME_ADMIN, first))).statusCode).to.equal(200);
      const before = await stored();
      for (const issuedAt of [first.issuedAt, first.issuedAt - 1]) {
        const res = await put(GTIN, await signedBody(ACME_ADMIN, acmeSet({ issuedAt, links: [] })));
        expect(res.statusCode, res.body).to.equal(409);
        expect(json<Refusal>(res)).to.include({
          error: "STALE_LINK_SET",
          field: "linkSet.issuedAt",
          storedIssuedAt: first.issuedAt,
        });
        expect(await stored()).to.equal(before);
      }
      const newer = acmeSet({ issuedAt: first.issuedAt + 1, links: [pip({ title: "Acme shirt, new page" })] });
      expect((await put(GTIN, await signedBody(ACME_ADMIN, newer))).statusCode).to.equal(200);
      expect(json<LinkSetDoc>(await get(GTIN)).links).to.deep.equal(newer.links);
    });

    it("may be empty, which clears the links", async function () {
      const res = await put(GTIN, await signedBody(ACME_ADMIN, acmeSet({ issuedAt: secondsAgo(10), links: [] })));
      expect(res.statusCode, res.body).to.equal(200);
      expect(json<LinkSetDoc>(res).links).to.deep.equal([]);
    });
  });

  describe("refusals, with nothing stored changed", function () {
    const other = acmeGtin("77777");

    it("403 for any signer other than the brand's current admin, naming both", async function () {
      for (const wallet of [STRANGER, FAKE_ADMIN]) {
        const res = await put(other, await signedBody(wallet, acmeSet({ gtin: other })));
        expect(res.statusCode, res.body).to.equal(403);
        const body = json<Refusal>(res);
        expect(body).to.include({
          error: "SIGNER_NOT_ADMIN",
          expected: ACME_ADMIN.address.toLowerCase(),
          signer: wallet.address.toLowerCase(),
          field: "signature",
        });
        expect(body.message).to.include(ACME_ADMIN.address.toLowerCase()).and.include(wallet.address.toLowerCase());
        expect(res.headers["cache-control"]).to.equal("no-store");
      }
      expect(await stored(other)).to.equal("HTTP 404");
    });

    it("403 for a signature over another chain or contract (it recovers someone else)", async function () {
      const message = acmeSet({ gtin: other });
      const res = await put(other, {
        linkSet: message,
        signature: await sign(ACME_ADMIN, message, { ...FIXTURE_DOMAIN, chainId: 1n }),
      });
      expect(res.statusCode, res.body).to.equal(403);
      expect(json<Refusal>(res).error).to.equal("SIGNER_NOT_ADMIN");
      expect(await stored(other)).to.equal("HTTP 404");
    });

    it("403 for a GTIN whose company prefix belongs to another brand, naming the prefix", async function () {
      // Knockoff Traders own 950600, a shorter prefix of Acme's 9506000: the longest one decides.
      const message = acmeSet({ brandId: String(FAKE.brandId), gtin: other });
      const res = await put(other, await signedBody(FAKE_ADMIN, message));
      expect(res.statusCode, res.body).to.equal(403);
      expect(json<Refusal>(res)).to.deep.include({
        error: "GTIN_NOT_BRANDS",
        prefix: ACME.prefix,
        ownerBrandId: "1",
        field: "linkSet.gtin",
        brandPrefixes: ["4006381", "950600"],
      });
      expect(json<Refusal>(res).message).to.include(ACME.prefix);
      expect(await stored(other)).to.equal("HTTP 404");
    });

    it("403 for a GTIN no brand owns, naming the brand's prefixes", async function () {
      const res = await put(ORPHAN_GTIN, await signedBody(ACME_ADMIN, acmeSet({ gtin: ORPHAN_GTIN })));
      expect(res.statusCode, res.body).to.equal(403);
      const body = json<Refusal>(res);
      expect(body).to.deep.include({ error: "GTIN_NOT_BRANDS", brandPrefixes: [ACME.prefix] });
      expect(body.prefix).to.equal(undefined);
      expect(body.message).to.include(ACME.prefix);
      expect(await stored(ORPHAN_GTIN)).to.equal("HTTP 404");
    });

    it("404 for a brand the mirror does not know, naming the field", async function () {
      const res = await put(other, await signedBody(ACME_ADMIN, acmeSet({ brandId: "99", gtin: other })));
      expect(res.statusCode, res.body).to.equal(404);
      expect(json<Refusal>(res).field).to.equal("linkSet.brandId");
    });

    const malformed: ReadonlyArray<
      [string, (body: Record<string, unknown>, message: LinkSetMessage) => unknown, string]
    > = [
      [
        "an http href",
        (b, m) => ({ ...b, linkSet: { ...m, links: [pip({ href: "http://acme.example/p" })] } }),
        "linkSet.links.0.href",
      ],
      [
        "an unknown link type",
        (b, m) => ({ ...b, linkSet: { ...m, links: [pip({ linkType: "gs1:nope" })] } }),
        "linkSet.links.0.linkType",
      ],
      [
        "a 201-character title",
        (b, m) => ({ ...b, linkSet: { ...m, links: [pip({ title: "t".repeat(201) })] } }),
        "linkSet.links.0.title",
      ],
      [
        "a bad hreflang",
        (b, m) => ({ ...b, linkSet: { ...m, links: [pip({ hreflang: "en_GB" })] } }),
        "linkSet.links.0.hreflang",
      ],
      [
        "51 links",
        (b, m) => ({ ...b, linkSet: { ...m, links: Array.from({ length: 51 }, () => pip()) } }),
        "linkSet.links",
      ],
      [
        "a link without a title",
        (b, m) => ({
          ...b,
          linkSet: { ...m, links: [{ linkType: "gs1:pip", href: "https://a.example/", hreflang: "", mediaType: "" }] },
        }),
        "linkSet.links.0.title",
      ],
      ["a GTIN-13 in the message", (b, m) => ({ ...b, linkSet: { ...m, gtin: GTIN13 } }), "linkSet.gtin"],
      ["another GTIN than the path", (b, m) => ({ ...b, linkSet: { ...m, gtin: acmeGtin("12345") } }), "linkSet.gtin"],
      ["a bad check digit in the path", (b) => ({ ...b, path: "09506000134350" }), "gtin"],
      ["no signature", (b) => ({ ...b, signature: undefined }), "signature"],
      ["a short signature", (b) => ({ ...b, signature: "0x1234" }), "signature"],
      ["a signature that is no point on the curve", (b) => ({ ...b, signature: `0x${"00".repeat(65)}` }), "signature"],
      ["no linkSet", (b) => ({ ...b, linkSet: undefined }), "linkSet"],
      [
        "issuedAt ahead of the clock",
        (b, m) => ({ ...b, linkSet: { ...m, issuedAt: secondsAgo(-(MAX_CLOCK_SKEW_SECONDS + 60)) } }),
        "linkSet.issuedAt",
      ],
      [
        "another chain in the domain",
        (b) => ({ ...b, domain: { ...(b.domain as object), chainId: 1 } }),
        "domain.chainId",
      ],
      [
        "another contract in the domain",
        (b) => ({ ...b, domain: { ...(b.domain as object), verifyingContract: `0x${"11".repeat(20)}` } }),
        "domain.verifyingContract",
      ],
      [
        "another domain name",
        (b) => ({ ...b, domain: { ...(b.domain as object), name: "TraceAnchor" } }),
        "domain.name",
      ],
    ];
    for (const [what, change, field] of malformed) {
      it(`400 for ${what}, naming ${field}`, async function () {
        const message = acmeSet({ gtin: other });
        const body = change(await signedBody(ACME_ADMIN, message), message) as Record<string, unknown>;
        const target = typeof body.path === "string" ? body.path : other;
        delete body.path;
        const res = await put(target, body);
        expect(res.statusCode, res.body).to.equal(400);
        expect(json<Refusal>(res).field).to.equal(field);
        expect(await stored(other)).to.equal("HTTP 404");
      });
    }

    it("keeps what was stored through every refusal", async function () {
      const kept = acmeSet({ gtin: other, issuedAt: secondsAgo(500) });
      expect((await put(other, await signedBody(ACME_ADMIN, kept))).statusCode).to.equal(200);
      const before = await stored(other);
      const newer = acmeSet({ gtin: other, issuedAt: secondsAgo(100), links: [] });
      expect((await put(other, await signedBody(STRANGER, newer))).statusCode).to.equal(403);
      expect((await put(other, { ...(await signedBody(ACME_ADMIN, newer)), signature: "0x12" })).statusCode).to.equal(
        400,
      );
      expect(
        (await put(other, await signedBody(ACME_ADMIN, { ...newer, links: [pip({ href: "ftp://x" })] }))).statusCode,
      ).to.equal(400);
      expect(await stored(other)).to.equal(before);
    });
  });

  describe("GET /v1/links/{gtin}", function () {
    it("404 for a GTIN without a link set, 400 naming gtin for a bad one", async function () {
      expect((await get(acmeGtin("55555"))).statusCode).to.equal(404);
      const bad = await get("09506000134350");
      expect(bad.statusCode).to.equal(400);
      expect(json<Refusal>(bad).field).to.equal("gtin");
    });
  });

  describe("OpenAPI", function () {
    it("documents both routes with their body and refusal schemas", async function () {
      const doc = json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
      }>(await t.app.inject({ url: "/docs/json" }));
      const route = doc.paths["/v1/links/{gtin}"];
      expect(route).to.have.keys("get", "put");
      expect(route?.put?.requestBody).to.not.equal(undefined);
      expect(route?.put?.responses).to.include.keys("200", "400", "403", "409");
    });
  });

  describe("without a links file", function () {
    it("answers 503 to both routes", async function () {
      const bare = await buildTestApp(fixture, { engine });
      try {
        const message = acmeSet();
        expect((await bare.app.inject({ method: "GET", url: `/v1/links/${GTIN}` })).statusCode).to.equal(503);
        expect(
          (
            await bare.app.inject({
              method: "PUT",
              url: `/v1/links/${GTIN}`,
              payload: await signedBody(ACME_ADMIN, message),
            })
          ).statusCode,
        ).to.equal(503);
      } finally {
        await bare.close();
      }
    });
  });
});

describeEngines("api: brand link sets the resolver serves", function (engine) {
  let fixture: MirrorFixture;
  let location: string;

  beforeEach(async function () {
    fixture = await createLinksFixture();
    location = await linkStoreLocation(engine, "links_resolver", true);
  });
  afterEach(async function () {
    await closePgMirror(fixture);
    fixture.cleanup();
    if (engine === "sqlite") fs.rmSync(path.dirname(location), { recursive: true, force: true });
  });

  /** Accepts a set through the API into the store, and returns where the store is. */
  const accept = async (message: LinkSetMessage): Promise<string> => {
    const t = await buildLinksApp(fixture, location, engine);
    try {
      const res = await t.app.inject({
        method: "PUT",
        url: `/v1/links/${message.gtin}`,
        payload: await signedBody(ACME_ADMIN, message),
      });
      expect(res.statusCode, res.body).to.equal(200);
    } finally {
      await t.close();
    }
    return location;
  };

  it("gives the resolver the stored links as BrandLinks, kept in the store across restarts", async function () {
    const message = acmeSet();
    const where = await accept(message);
    const mirrorDb = await fixtureMirror(fixture, engine);
    const linksDb = await openLinkStore(where);
    try {
      const source = currentLinkSets(
        createLinkSetRepository(linksDb),
        createMirror(mirrorDb.target, { treeCacheBytes: 2 ** 20 }),
      );
      const set = await source.linkSetOf(GTIN);
      expect(set).to.deep.equal({
        brandId: "1",
        gtin: GTIN,
        links: [
          { type: "gs1:pip", href: pip().href, title: pip().title, hreflang: ["en"], mediaType: "text/html" },
          {
            type: "gs1:instructions",
            href: "https://acme.example/care.pdf",
            title: "Care instructions",
            mediaType: "application/pdf",
          },
        ],
        signer: ACME_ADMIN.address.toLowerCase(),
        signature: set?.signature,
        issuedAt: new Date(message.issuedAt * 1000).toISOString(),
      });
      expect(set?.signature).to.match(/^0x[0-9a-f]{130}$/);
      expect(await source.linkSetOf(acmeGtin("12121"))).to.equal(undefined);
    } finally {
      await closeLinkStore(linksDb);
      mirrorDb.close();
    }
  });

  it("stops serving a set once its signer is no longer the brand's admin; GET says why", async function () {
    const where = await accept(acmeSet());
    await transferAdmin(fixture, ACME.brandId, STRANGER.address, engine);
    const t = await buildLinksApp(fixture, where, engine);
    try {
      const doc = json<LinkSetDoc>(await t.app.inject({ method: "GET", url: `/v1/links/${GTIN}` }));
      expect(doc.current).to.equal(false);
      expect(doc.reason).to.include(ACME_ADMIN.address.toLowerCase()).and.include(STRANGER.address.toLowerCase());
      const mirrorDb = await fixtureMirror(fixture, engine);
      try {
        expect(
          await currentLinkSets(
            createLinkSetRepository(t.linksDb),
            createMirror(mirrorDb.target, { treeCacheBytes: 2 ** 20 }),
          ).linkSetOf(GTIN),
        ).to.equal(undefined);
      } finally {
        mirrorDb.close();
      }
    } finally {
      await t.close();
    }
  });

  it("stops serving a set once the brand no longer owns the GTIN's prefix", async function () {
    const where = await accept(acmeSet());
    await releasePrefix(fixture, ACME.prefix, engine);
    const t = await buildLinksApp(fixture, where, engine);
    try {
      const doc = json<LinkSetDoc>(await t.app.inject({ method: "GET", url: `/v1/links/${GTIN}` }));
      expect(doc.current).to.equal(false);
      // Knockoff Traders' shorter 950600 is now the longest match.
      expect(doc.reason).to.include("950600").and.include(`brand ${FAKE.brandId}`);
    } finally {
      await t.close();
    }
  });
});

describeEngines("api: link-set repository", function (engine) {
  const open: LinkStore[] = [];
  afterEach(async function () {
    for (const store of open.splice(0)) await closeLinkStore(store);
  });

  /** Two handles on one new store: two connections to one file, or two replicas' pools on one database. */
  const handles = async (name: string): Promise<[LinkStore, LinkStore]> => {
    const location = await linkStoreLocation(engine, name, true);
    const stores: [LinkStore, LinkStore] = [await openLinkStore(location), await openLinkStore(location)];
    open.push(...stores);
    return stores;
  };
  const exec = async (store: LinkStore, sql: string): Promise<void> => {
    if ("pool" in store) await store.pool.query(sql);
    else store.exec(sql);
  };
  const accepted = async (message: LinkSetMessage): Promise<StoredLinkSet> => ({
    chainId: "31337",
    contract: CONTRACT,
    message,
    signature: await sign(ACME_ADMIN, message),
    signer: ACME_ADMIN.address.toLowerCase(),
    acceptedAt: 1,
  });
  /** Until `seen` holds, or `limitMs` passed: how long it took. */
  const until = async (seen: () => Promise<boolean>, limitMs: number): Promise<number> => {
    const start = performance.now();
    while (!(await seen())) {
      if (performance.now() - start > limitMs) throw new Error(`not seen within ${limitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return performance.now() - start;
  };

  it("keeps a set only with a greater issuedAt, and gives the resolver its links", async function () {
    const [store] = await handles("links_repo_put");
    const repo = createLinkSetRepository(store);
    expect(await repo.get(GTIN)).to.equal(undefined);
    const first = acmeSet({ issuedAt: secondsAgo(100) });
    expect(await repo.put(await accepted(first))).to.deep.equal({ ok: true });
    const again = await repo.put(await accepted(acmeSet({ issuedAt: first.issuedAt, links: [] })));
    expect(again.ok).to.equal(false);
    expect(again.ok === false && again.stored.message).to.deep.equal(first);
    expect((await repo.get(GTIN))?.message).to.deep.equal(first);
    expect((await repo.linkSetOf(GTIN))?.links.map((link) => link.type)).to.deep.equal(["gs1:pip", "gs1:instructions"]);
    const newer = acmeSet({ issuedAt: secondsAgo(50), links: [] });
    expect((await repo.put(await accepted(newer))).ok).to.equal(true);
    expect((await repo.linkSetOf(GTIN))?.links).to.deep.equal([]);
    expect(await repo.linkSetOf(acmeGtin("12121"))).to.equal(undefined);
  });

  it("serves a large set (not memoised) and then the smaller one that replaces it", async function () {
    const [store] = await handles("links_repo_large");
    const repo = createLinkSetRepository(store);
    const keep = async (message: LinkSetMessage) => repo.put(await accepted(message));
    const languages = ["en", "fr", "de", "es", "it", "nl", "pt", "pl", "sv", "da"];
    languages.push("fi", "cs", "ro", "hu", "el", "bg", "sk", "sl", "hr", "lt");
    const large = acmeSet({
      issuedAt: secondsAgo(100),
      links: languages.map((hreflang) =>
        pip({ hreflang, href: `https://acme.example/${hreflang}/${"p".repeat(600)}` }),
      ),
    });
    expect(JSON.stringify(large).length).to.be.above(8 * 1024);
    expect((await keep(large)).ok).to.equal(true);
    expect((await repo.linkSetOf(GTIN))?.links).to.have.length(languages.length);
    expect((await repo.get(GTIN))?.message).to.deep.equal(large);
    const small = acmeSet({ issuedAt: secondsAgo(50), links: [pip()] });
    expect((await keep(small)).ok).to.equal(true);
    expect((await repo.linkSetOf(GTIN))?.links).to.have.length(1);
    expect((await keep(large)).ok).to.equal(false);
    expect((await repo.get(GTIN))?.message).to.deep.equal(small);
  });

  // SQLite: another connection to the file, seen at its next commit check (once per ms). PostgreSQL:
  // another replica, within LINK_SET_POLL_MS.
  const boundMs = engine === "sqlite" ? 50 : LINK_SET_POLL_MS + 100;
  it(`serves a set put through another ${engine === "sqlite" ? "connection" : "replica"} after it had read the GTIN, within ${boundMs} ms`, async function () {
    const [a, b] = await handles("links_repo_replicas");
    const reader = createLinkSetRepository(a);
    const writer = createLinkSetRepository(b);
    expect(await reader.linkSetOf(GTIN)).to.equal(undefined);
    for (const ago of [300, 200, 100]) {
      const message = acmeSet({ issuedAt: secondsAgo(ago) });
      expect((await writer.put(await accepted(message))).ok).to.equal(true);
      const issuedAt = new Date(message.issuedAt * 1000).toISOString();
      await until(async () => (await reader.linkSetOf(GTIN))?.issuedAt === issuedAt, boundMs);
      expect((await reader.get(GTIN))?.message).to.deep.equal(message);
    }
  });

  it("leaves the stored set, and what every handle serves, as they were when a put fails", async function () {
    const [a, b] = await handles("links_repo_failed");
    const repo = createLinkSetRepository(a);
    const other = createLinkSetRepository(b);
    const kept = acmeSet({ issuedAt: secondsAgo(100) });
    expect((await repo.put(await accepted(kept))).ok).to.equal(true);
    expect((await other.get(GTIN))?.message).to.deep.equal(kept);
    // PostgreSQL's version row, which replicas poll (SQLite has none).
    const version = async (): Promise<number | undefined> => {
      if (!("pool" in a)) return undefined;
      const rows = await a.pool.query<{ version: number }>("SELECT version FROM trace_state.link_sets_version");
      return rows.rows[0]?.version;
    };
    const before = await version();
    // The row is written, then the statement fails after it: nothing of it may stay.
    await exec(
      a,
      engine === "sqlite"
        ? "CREATE TRIGGER fail_put AFTER UPDATE ON link_sets BEGIN SELECT RAISE(ABORT, 'injected put failure'); END;"
        : "CREATE FUNCTION trace_state.fail_put() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected put failure'; END $$; " +
            "CREATE TRIGGER fail_put AFTER UPDATE ON trace_state.link_sets FOR EACH ROW EXECUTE FUNCTION trace_state.fail_put();",
    );
    const newer = acmeSet({ issuedAt: secondsAgo(50), links: [] });
    let failure: unknown;
    await repo.put(await accepted(newer)).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.include("injected put failure");
    expect(await version()).to.equal(before);
    await new Promise((resolve) => setTimeout(resolve, LINK_SET_POLL_MS + 20));
    for (const handle of [repo, other, createLinkSetRepository(b)])
      expect((await handle.get(GTIN))?.message).to.deep.equal(kept);
    await exec(a, engine === "sqlite" ? "DROP TRIGGER fail_put" : "DROP TRIGGER fail_put ON trace_state.link_sets");
    expect((await repo.put(await accepted(newer))).ok).to.equal(true);
    expect((await repo.get(GTIN))?.message).to.deep.equal(newer);
  });

  it("keeps the newest of many puts of one GTIN racing through two handles", async function () {
    const [a, b] = await handles("links_repo_race");
    const repos: LinkSetRepository[] = [createLinkSetRepository(a), createLinkSetRepository(b)];
    const messages = [7, 3, 9, 1, 8, 2, 6, 4, 5].map((n) => acmeSet({ issuedAt: secondsAgo(1000 - n), links: [] }));
    const sets = await Promise.all(messages.map(accepted));
    const results = await Promise.all(sets.map((set, i) => (repos[i % 2] as LinkSetRepository).put(set)));
    const newest = messages[2] as LinkSetMessage;
    expect(results[2]).to.deep.equal({ ok: true });
    // A put refused was refused for a set at least as new.
    results.forEach((result, i) => {
      if (!result.ok) expect(result.stored.message.issuedAt).to.be.at.least(messages[i]?.issuedAt ?? Infinity);
    });
    await new Promise((resolve) => setTimeout(resolve, LINK_SET_POLL_MS + 20));
    for (const repo of repos) expect((await repo.get(GTIN))?.message).to.deep.equal(newest);
  });
});

describe("api: TRACE_LINKS_DB", function () {
  it("defaults to data/links.db and fails naming the variable", function () {
    expect(parseLinksEnv({}).dbPath).to.equal("data/links.db");
    expect(parseLinksEnv({ TRACE_LINKS_DB: " /var/lib/trace/links.db " }).dbPath).to.equal("/var/lib/trace/links.db");
    expect(() => parseLinksEnv({ TRACE_LINKS_DB: "data/" })).to.throw(/^TRACE_LINKS_DB /);
  });
});
