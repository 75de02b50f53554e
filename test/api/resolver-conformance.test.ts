/**
 * GS1-Conformant resolver: each statement of GS1's conformance list (gs1/GS1DL-resolver-testsuite,
 * Conformance1_2.txt), quoted, with what its test suite sends and expects, against the real app
 * (buildApp) and, for brand links, the resolver plugin over a fake BrandLinkSource.
 * docs/resolver.md says how each one is met.
 */
import { expect } from "chai";
import Fastify, { type LightMyRequestResponse } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { apiConfig } from "../../api/config";
import { createMirror } from "../../api/mirror";
import type { BrandLinkSet, BrandLinkSource } from "../../api/link-source";
import errors from "../../api/plugins/errors";
import security from "../../api/plugins/security";
import digitalLinkRoutes from "../../api/routes/digital-link";
import { openDatabase } from "../../mirror/db";
import { ACME, FAKE, GTIN, ORPHAN_GTIN, acmeGtin, type MirrorFixture } from "./fixtures";
import { PUBLIC_URL, appPerTest } from "./helper";

const VOC = "https://gs1.org/voc/";
const SERIAL = `/01/${GTIN}/21/SER1`;
const LOT = `/01/${GTIN}/10/LOT1`;
const PRODUCT = `/01/${GTIN}`;
/** A serial, a lot and a product code: what each statement is checked on. */
const CODES = [SERIAL, LOT, PRODUCT];
const BROWSER = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

interface LinkObject {
  readonly href: string;
  readonly title: string;
  readonly type?: string;
  readonly hreflang?: string[];
}
type ContextObject = { anchor: string } & Record<string, unknown>;
interface LinksetBody {
  readonly linkset: ContextObject[];
}

const json = <T>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;
/** The link relations of a context object: every member but the anchor and extension members. */
const relations = (set: ContextObject): [string, LinkObject[]][] =>
  Object.entries(set).filter(
    (entry): entry is [string, LinkObject[]] => entry[0] !== "anchor" && !entry[0].startsWith("ta:"),
  );
const local = (href: string): string => {
  expect(href.startsWith(PUBLIC_URL), href).to.equal(true);
  return href.slice(PUBLIC_URL.length);
};

/** A link set the brand signed, as the link-set store hands it over. */
function signedLinks(brandId: string, gtin = GTIN): BrandLinkSet {
  return {
    brandId,
    gtin,
    signer: "0x00000000000000000000000000000000000000a1",
    signature: `0x${"5a".repeat(65)}`,
    issuedAt: "2024-03-10T08:00:00.000Z",
    links: [
      {
        type: "gs1:pip",
        href: "https://acme.example/en/rice",
        title: "Risotto rice",
        hreflang: ["en"],
        mediaType: "text/html",
      },
      {
        type: "gs1:pip",
        href: "https://acme.example/fr/riz?src=qr#top",
        title: "Riz à risotto",
        hreflang: ["fr"],
        mediaType: "text/html",
      },
      { type: "https://gs1.org/voc/instructions", href: "https://acme.example/cooking", title: "Cooking instructions" },
      {
        type: "gs1:certificationInfo",
        href: "https://cert.example/acme/42",
        title: "Organic certificate",
        mediaType: "application/pdf",
      },
      { type: "gs1:defaultLink", href: "https://acme.example/", title: "Acme home" },
      { type: "schema:url", href: "https://acme.example/schema", title: "Not a GS1 link type" },
      { type: "gs1:recipeInfo", href: "javascript:alert(1)", title: "Not a web link" },
    ],
  };
}

const fakeLinks = (sets: readonly BrandLinkSet[]): BrandLinkSource => ({
  linkSetOf: (gtin) => Promise.resolve(sets.find((set) => set.gtin === gtin)),
});

/** The resolver plugin alone, as app.ts registers it, over the fixture mirror and a brand link source. */
async function resolverWithLinks(fixture: MirrorFixture, links: BrandLinkSource) {
  const db = openDatabase(fixture.dbPath, { readonly: true });
  const config = apiConfig({
    publicUrl: PUBLIC_URL,
    dbPath: fixture.dbPath,
    contentDir: fixture.contentDir,
    rateLimit: 0,
  });
  const app = Fastify({
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(errors);
  await app.register(security, { rateLimit: 0 });
  const mirror = createMirror(db, { treeCacheBytes: 2 ** 24 });
  await app.register(digitalLinkRoutes, {
    mirror,
    config,
    scans: undefined,
    renderHtml: undefined,
    acceptUpload: undefined,
    indexerStatus: undefined,
    links,
  });
  await app.ready();
  return {
    inject: (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers }),
    async close() {
      await app.close();
      db.close();
    },
  };
}

describe("api: GS1-Conformant resolver (Conformance1_2.txt)", function () {
  const suite = appPerTest();
  const get = (url: string, headers: Record<string, string> = {}) =>
    suite.t.app.inject({ method: "GET", url, headers });
  const linksetOf = async (url: string): Promise<LinksetBody> => {
    const res = await get(`${url}?linkType=linkset`);
    expect(res.statusCode, res.body.slice(0, 200)).to.equal(200);
    return json<LinksetBody>(res);
  };

  describe("SHALL support HTTP 1.1 (or higher) GET, HEAD and OPTIONS requests.", function () {
    for (const url of [...CODES, "/.well-known/gs1resolver"]) {
      it(`GET, HEAD and OPTIONS ${url}`, async function () {
        const getRes = await get(url);
        expect(getRes.statusCode).to.equal(200);
        // The test suite looks for all three in the GET response's Access-Control-Allow-Methods.
        expect(String(getRes.headers["access-control-allow-methods"]).split(/,\s*/)).to.include.members([
          "GET",
          "HEAD",
          "OPTIONS",
        ]);
        const head = await suite.t.app.inject({ method: "HEAD", url });
        expect(head.statusCode).to.equal(200);
        expect(head.body).to.equal("");
        expect(head.headers["content-type"]).to.equal(getRes.headers["content-type"]);
        const options = await suite.t.app.inject({ method: "OPTIONS", url });
        expect(options.statusCode).to.equal(204);
      });
    }

    it("HEAD of a linkType request redirects as GET does", async function () {
      const head = await suite.t.app.inject({ method: "HEAD", url: `${SERIAL}?linkType=gs1:pip` });
      expect(head.statusCode).to.equal(307);
      expect(head.headers.location).to.equal(`${PUBLIC_URL}${PRODUCT}`);
    });
  });

  describe("SHALL support HTTP Over TLS (HTTPS)", function () {
    // TLS ends at the proxy in front of the API (docs/resolver.md); what the API controls is that
    // every URL it hands out is on the configured https public URL.
    it("hands out only https URLs of its public base: anchors, links, Link headers, redirects, resolverRoot", async function () {
      expect(PUBLIC_URL.startsWith("https://")).to.equal(true);
      for (const url of CODES) {
        const { linkset } = await linksetOf(url);
        for (const set of linkset) {
          expect(set.anchor.startsWith(`${PUBLIC_URL}/`)).to.equal(true);
          for (const [, links] of relations(set))
            for (const link of links) expect(link.href.startsWith(`${PUBLIC_URL}/`), link.href).to.equal(true);
        }
        expect(String((await get(url)).headers.link)).to.match(new RegExp(`^<${PUBLIC_URL}/`));
      }
      expect(
        String((await get(`${SERIAL}?linkType=gs1:traceability`)).headers.location).startsWith(`${PUBLIC_URL}/`),
      ).to.equal(true);
      expect(json<{ resolverRoot: string }>(await get("/.well-known/gs1resolver")).resolverRoot).to.equal(PUBLIC_URL);
    });
  });

  describe("SHALL support CORS", function () {
    it("answers a preflight from any origin for GET and HEAD", async function () {
      for (const url of [SERIAL, `${PRODUCT}?linkType=gs1:pip`, "/.well-known/gs1resolver"]) {
        const res = await suite.t.app.inject({
          method: "OPTIONS",
          url,
          headers: { origin: "https://ref.gs1.org", "access-control-request-method": "GET" },
        });
        expect(res.statusCode, url).to.equal(204);
        expect(res.headers["access-control-allow-origin"]).to.equal("*");
        expect(String(res.headers["access-control-allow-methods"])).to.include("GET").and.include("HEAD");
      }
    });

    it("lets any origin read every resolver answer, its Link header too: 200, 307, 400, 404", async function () {
      const origin = { origin: "https://ref.gs1.org/test-suites/resolver/" };
      const cases: [string, number][] = [
        [SERIAL, 200],
        [`${PRODUCT}?linkType=linkset`, 200],
        [`${SERIAL}?linkType=gs1:pip`, 307],
        [`${SERIAL}/foo`, 400],
        [`/01/${GTIN}/21/NOSUCH1`, 404],
        [`${SERIAL}?linkType=gs1:nothingHere`, 404],
        ["/.well-known/gs1resolver", 200],
      ];
      for (const [url, status] of cases) {
        const res = await get(url, origin);
        expect(res.statusCode, url).to.equal(status);
        expect(res.headers["access-control-allow-origin"], url).to.equal("*");
      }
      expect(String((await get(SERIAL, origin)).headers["access-control-expose-headers"])).to.include("Link");
      expect(String((await get(`${SERIAL}/foo`, origin)).headers["access-control-allow-methods"])).to.include(
        "OPTIONS",
      );
    });
  });

  describe("SHALL extract and syntactically validate the URI in accordance with sections 2 and 4.3.1, and report errors with an HTTP response code of 400.", function () {
    const cases: [string, string][] = [
      // The test suite appends /foo to the code it was given.
      [`${SERIAL}/foo`, "DL_SYNTAX"],
      [`${LOT}/foo`, "DL_SYNTAX"],
      [`${PRODUCT}/foo`, "DL_SYNTAX"],
      [`/01/09506000134353`, "GTIN_CHECK_DIGIT"],
      [`/01/${GTIN}/10/${"L".repeat(21)}`, "GS1_AI82_LENGTH"],
      [`/01/${GTIN}/21/S/10/L`, "DL_ORDER"],
      [`/01/${GTIN}/99/x`, "DL_AI"],
      [`/v1/items/01/${GTIN}/21/S/x`, "DL_SYNTAX"],
    ];
    for (const [url, error] of cases) {
      it(`400 ${error} for ${url}`, async function () {
        const res = await get(url);
        expect(res.statusCode, res.body).to.equal(400);
        const body = json<{ error: string; message: string; field: string }>(res);
        expect(body.error).to.equal(error);
        expect(body.message).to.be.a("string").and.not.equal("");
        expect(body.field).to.be.a("string");
      });
    }
  });

  describe("SHALL NOT use a 200 OK response code with a resource that indicates an error condition (section 4.3).", function () {
    it("answers what it cannot resolve with 4xx, JSON or a page, never 200", async function () {
      const cases: [string, Record<string, string>, number, string | undefined][] = [
        [`/01/${GTIN}/21/NOSUCH1`, {}, 404, "NOT_FOUND"],
        [`/01/${GTIN}/21/NOSUCH1`, BROWSER, 404, undefined],
        [`/01/${GTIN}/21/NOSUCH1?linkType=linkset`, {}, 404, "NOT_FOUND"],
        [`/01/${ORPHAN_GTIN}`, {}, 404, "UNREGISTERED"],
        [`/01/${ORPHAN_GTIN}`, BROWSER, 404, undefined],
        [`/01/${ORPHAN_GTIN}?linkType=linkset`, {}, 404, "UNREGISTERED"],
        [`/01/${ORPHAN_GTIN}?linkType=gs1:pip`, {}, 404, "UNREGISTERED"],
        [`${SERIAL}?linkType=gs1:nothingHere`, {}, 404, "LINK_TYPE_NOT_FOUND"],
        [`${SERIAL}?linkType=x`, {}, 404, "LINK_TYPE_NOT_FOUND"],
        [`/v1/items/01/${GTIN}/21/NOSUCH1`, {}, 404, "NOT_FOUND"],
        [`${SERIAL}?linkType=a&linkType=b`, {}, 400, "INVALID_REQUEST"],
      ];
      for (const [url, headers, status, error] of cases) {
        const res = await get(url, headers);
        expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).to.equal(status);
        if (error !== undefined) expect(json<{ error: string }>(res).error, url).to.equal(error);
      }
    });

    it("names the link types there are when the requested one is missing", async function () {
      const res = await get(`${SERIAL}?linkType=gs1:nothingHere`);
      expect(json<{ message: string; field: string }>(res)).to.deep.include({ field: "linkType" });
      expect(json<{ message: string }>(res).message).to.include("gs1:defaultLink").and.include("gs1:pip");
    });
  });

  describe("SHALL respond to a query parameter of linkType set to all by returning a list of links available to the client application. The list SHALL be available as per Linkset: Media Types and a Link Relation Type for Link Sets. If the request GS1 Digital Link URI includes one or more key qualifiers, any links associated with each level up to the primary key SHALL be included. The URI used as the subject of facts presented SHALL be the uncompressed version.", function () {
    for (const [name, query, headers] of [
      ["linkType=all", "?linkType=all", {}],
      ["linkType=linkset (GS1 resolver 1.1)", "?linkType=linkset", {}],
      ["Accept: application/linkset+json", "", { accept: "application/linkset+json" }],
      ["both, as the test suite's getLinkset sends them", "?linkType=linkset", { accept: "application/linkset+json" }],
    ] as const) {
      it(`serves the RFC 9264 linkset for ${name}, without redirecting`, async function () {
        const res = await get(`${SERIAL}${query}`, headers);
        expect(res.statusCode).to.equal(200);
        expect(res.headers["content-type"]).to.equal("application/linkset+json");
        const body = json<LinksetBody>(res);
        expect(body.linkset).to.be.an("array");
        expect(body.linkset.map((set) => set.anchor)).to.deep.equal([
          `${PUBLIC_URL}${SERIAL}`,
          `${PUBLIC_URL}${LOT}`,
          `${PUBLIC_URL}${PRODUCT}`,
        ]);
      });
    }

    it("anchors each level up to the GTIN: a lot's linkset has the lot and the GTIN, a product's the GTIN", async function () {
      expect((await linksetOf(LOT)).linkset.map((set) => set.anchor)).to.deep.equal([
        `${PUBLIC_URL}${LOT}`,
        `${PUBLIC_URL}${PRODUCT}`,
      ]);
      expect((await linksetOf(PRODUCT)).linkset.map((set) => set.anchor)).to.deep.equal([`${PUBLIC_URL}${PRODUCT}`]);
      // A serial's lot is the anchored one, whether or not the code names it.
      expect((await linksetOf(`/01/${GTIN}/10/LOT2/21/SER3`)).linkset.map((set) => set.anchor)).to.deep.equal([
        `${PUBLIC_URL}/01/${GTIN}/10/LOT2/21/SER3`,
        `${PUBLIC_URL}/01/${GTIN}/10/LOT2`,
        `${PUBLIC_URL}${PRODUCT}`,
      ]);
      expect((await linksetOf(`/01/${GTIN}/21/SCAN1`)).linkset.map((set) => set.anchor)).to.deep.equal([
        `${PUBLIC_URL}/01/${GTIN}/21/SCAN1`,
        `${PUBLIC_URL}${PRODUCT}`,
      ]);
    });

    it("uses the uncompressed, canonical Digital Link as the subject: GTIN-14, AIs in order, values percent-encoded", async function () {
      const { linkset } = await linksetOf(`/01/9506000134352/21/a.b-c%2Fd`);
      expect(linkset[0]?.anchor).to.equal(`${PUBLIC_URL}/01/${GTIN}/21/a.b-c%2Fd`);
    });

    it("points to GS1's JSON-LD context in a Link header (the test suite's SHOULD)", async function () {
      const res = await get(`${SERIAL}?linkType=linkset`);
      expect(String(res.headers.link)).to.include(
        '<https://ref.gs1.org/standards/resolver/linkset-context>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"',
      );
    });
  });

  describe("SHOULD expose link to the linkset in an HTTP Link header, even when redirecting.", function () {
    it("sends Link rel=linkset on documents, pages, linksets, redirects and a missing link type", async function () {
      for (const [url, headers] of [
        [SERIAL, {}],
        [SERIAL, BROWSER],
        [LOT, {}],
        [PRODUCT, BROWSER],
        [`${PRODUCT}?linkType=linkset`, {}],
        [`${SERIAL}?linkType=gs1:pip`, {}],
        [`${SERIAL}?linkType=gs1:nothingHere`, {}],
      ] as const) {
        const res = await get(url, headers);
        const anchor = `${PUBLIC_URL}${url.split("?")[0] ?? ""}`;
        expect(String(res.headers.link), url).to.include(
          `<${anchor}?linkType=linkset>; rel="linkset"; type="application/linkset+json"`,
        );
      }
    });

    it("links to a linkset that is there", async function () {
      const link = String((await get(LOT)).headers.link);
      const target = /^<([^>]+)>/.exec(link)?.[1] ?? "";
      const res = await get(local(target));
      expect(res.statusCode).to.equal(200);
      expect(json<LinksetBody>(res).linkset[0]?.anchor).to.equal(`${PUBLIC_URL}${LOT}`);
    });
  });

  describe("SHALL recognise one available link as the default for any given request URI.", function () {
    it("has exactly one gs1:defaultLink per anchor, with a title and no other attribute (as the test suite requires)", async function () {
      for (const url of CODES) {
        for (const set of (await linksetOf(url)).linkset) {
          const defaults = set[`${VOC}defaultLink`] as LinkObject[];
          expect(defaults, set.anchor).to.have.length(1);
          expect(Object.keys(defaults[0] ?? {}).sort()).to.deep.equal(["href", "title"]);
          // The default of an anchor is its own Digital Link: the scan page for that code.
          expect(defaults[0]?.href).to.equal(set.anchor);
        }
      }
    });
  });

  describe("All links exposed SHALL include the target URL, the link relationship type (the link type) and a human-readable title", function () {
    it("every link of every anchor: an http(s) href, a title, a GS1 link type URI", async function () {
      for (const url of CODES) {
        for (const set of (await linksetOf(url)).linkset) {
          const rels = relations(set);
          expect(rels.length).to.be.greaterThan(1);
          for (const [rel, links] of rels) {
            expect(rel, set.anchor).to.match(/^https:\/\/gs1\.org\/voc\/[A-Za-z]+$/);
            expect(links).to.be.an("array").with.length.greaterThan(0);
            for (const link of links) {
              expect(link.href, rel).to.match(/^https?:\/\//);
              expect(link.title, rel).to.be.a("string").and.not.equal("");
            }
          }
        }
      }
    });
  });

  describe("SHALL redirect to the default link unless there is information in the request that can be matched against available link metadata to provide a better response.", function () {
    // The default link of a code is the Digital Link itself (its scan page), so the resolver answers it
    // in place rather than redirecting a request to itself; the Accept header picks the representation.
    it("answers a browser with the page of the default link, in place", async function () {
      for (const url of CODES) {
        const res = await get(url, BROWSER);
        expect(res.statusCode, url).to.equal(200);
        expect(res.headers["content-type"]).to.match(/^text\/html/);
        expect(String(res.headers.vary)).to.include("Accept");
      }
    });

    it("answers a client that asks for JSON with the document its linkset lists as application/json", async function () {
      for (const url of CODES) {
        const page = await get(url, { accept: "application/json" });
        const { linkset } = await linksetOf(url);
        const documentLink = (linkset[0]?.[`${VOC}traceability`] as LinkObject[]).find(
          (link) => link.type === "application/json",
        );
        const target = await get(local(documentLink?.href ?? ""));
        expect(target.statusCode).to.equal(200);
        // Same document; the scan count of a serial moves by the scan the first request was.
        const strip = (body: string) => body.replace(/"scans":\{[^}]*\}/, "");
        expect(strip(target.body), url).to.equal(strip(page.body));
      }
    });

    it("redirects ?linkType=gs1:defaultLink to the default link, which then answers without redirecting", async function () {
      for (const url of CODES) {
        const res = await get(`${url}?linkType=gs1:defaultLink`, BROWSER);
        expect(res.statusCode).to.equal(307);
        expect(res.headers.location).to.equal(`${PUBLIC_URL}${url}`);
        const followed = await get(local(String(res.headers.location)), BROWSER);
        expect(followed.statusCode).to.equal(200);
      }
    });
  });

  describe("SHALL redirect to the requested linkType if available", function () {
    it("redirects (307) to each link type of the linkset, from the most specific anchor that has it", async function () {
      const { linkset } = await linksetOf(SERIAL);
      const seen = new Set<string>();
      for (const set of linkset) {
        for (const [rel, links] of relations(set)) {
          if (seen.has(rel)) continue;
          seen.add(rel);
          const compact = `gs1:${rel.slice(VOC.length)}`;
          const res = await get(`${SERIAL}?linkType=${compact}`);
          expect(res.statusCode, compact).to.equal(307);
          expect(res.headers.location, compact).to.equal(links[0]?.href);
        }
      }
      expect([...seen]).to.include.members([
        `${VOC}defaultLink`,
        `${VOC}pip`,
        `${VOC}traceability`,
        `${VOC}verificationService`,
        `${VOC}recallStatus`,
      ]);
    });

    it("takes the link type compact or as a URI in any of GS1's namespaces", async function () {
      for (const type of [
        "gs1:traceability",
        `${VOC}traceability`,
        "https://ref.gs1.org/voc/traceability",
        "https://www.gs1.org/voc/traceability",
      ]) {
        const res = await get(`${LOT}?linkType=${encodeURIComponent(type)}`);
        expect(res.statusCode, type).to.equal(307);
        expect(res.headers.location, type).to.equal(`${PUBLIC_URL}/v1/items${LOT}`);
      }
    });

    it("answers 404 with a JSON error for a link type it has no link of, and for one that is no GS1 link type", async function () {
      for (const type of ["gs1:epil", "gs1:", "schema:url", "https://example.com/voc/pip", "pip"]) {
        const res = await get(`${PRODUCT}?linkType=${encodeURIComponent(type)}`);
        expect(res.statusCode, type).to.equal(404);
        expect(res.headers["content-type"]).to.match(/^application\/json/);
        expect(json<{ error: string }>(res).error).to.equal("LINK_TYPE_NOT_FOUND");
      }
    });

    it("never redirects to itself: every link the resolver serves answers without a redirect, and every redirect lands on one", async function () {
      for (const url of CODES) {
        const { linkset } = await linksetOf(url);
        for (const set of linkset) {
          for (const [rel, links] of relations(set)) {
            for (const link of links) {
              const res = await get(local(link.href), { accept: link.type ?? "text/html" });
              expect(res.statusCode, `${rel} → ${link.href}`).to.equal(200);
            }
            const redirected = await get(`${url}?linkType=${encodeURIComponent(rel)}`, BROWSER);
            expect(redirected.statusCode).to.equal(307);
            const location = String(redirected.headers.location);
            expect(location).not.to.equal(`${PUBLIC_URL}${url}?linkType=${encodeURIComponent(rel)}`);
            expect((await get(local(location), BROWSER)).statusCode, location).to.equal(200);
          }
        }
      }
    });
  });

  describe("By default, SHALL pass on all key=value pairs in the query string of the request URI (if present) when redirecting.", function () {
    it("passes on every parameter but linkType, in order, as sent", async function () {
      const res = await get(`${SERIAL}?foo=bar&linkType=gs1:traceability&x=1%202&flag`);
      expect(res.statusCode).to.equal(307);
      expect(res.headers.location).to.equal(`${PUBLIC_URL}/v1/items${SERIAL}?foo=bar&x=1%202&flag`);
    });

    it("adds nothing when there is nothing to pass on", async function () {
      expect((await get(`${SERIAL}?linkType=gs1:traceability`)).headers.location).to.equal(
        `${PUBLIC_URL}/v1/items${SERIAL}`,
      );
    });
  });

  describe("SHALL provide a resolver description file at /.well-known/gs1resolver.", function () {
    it("serves the description GS1's schema asks for", async function () {
      const res = await get("/.well-known/gs1resolver", { accept: "application/json" });
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^application\/json/);
      expect(res.headers["access-control-allow-origin"]).to.equal("*");
      const body = json<Record<string, unknown>>(res);
      expect(body.name).to.be.a("string").and.not.equal("");
      expect(body.resolverRoot).to.equal(PUBLIC_URL);
      // Numeric AIs from the schema's enumeration ("01" is the GTIN), not key names.
      expect(body.supportedPrimaryKeys).to.deep.equal(["01"]);
      const types = body.supportedLinkType as { namespace: string; prefix: string }[];
      expect(types).to.deep.include({
        namespace: VOC,
        prefix: "gs1:",
        profile: "https://ref.gs1.org/voc/?show=linktypes",
      });
      for (const type of types) expect(type.prefix).to.match(/^[a-zA-Z_][A-Za-z0-9_-]*?:$/);
      expect(body.linkTypeDefaultCanBeLinkset).to.equal(false);
    });
  });

  describe("If supporting multiple links per identified item, SHALL recognise the GS1 Web vocabulary namespace, noting its change management practice. A resolver MAY recognise additional namespaces but link types defined elsewhere SHALL NOT duplicate link types available from GS1.", function () {
    it("names link types only in the GS1 Web Vocabulary, and recognises its published namespaces", async function () {
      for (const url of CODES)
        for (const set of (await linksetOf(url)).linkset)
          for (const [rel] of relations(set)) expect(rel.startsWith(VOC), rel).to.equal(true);
      for (const namespace of [
        "gs1:",
        VOC,
        "https://ref.gs1.org/voc/",
        "https://www.gs1.org/voc/",
        "http://gs1.org/voc/",
      ]) {
        expect(
          (await get(`${PRODUCT}?linkType=${encodeURIComponent(`${namespace}pip`)}`)).statusCode,
          namespace,
        ).to.equal(307);
      }
    });
  });

  describe("If supporting redirection based on an MO or Global Company Prefix with no further processing taking place on the resolver, redirections SHALL be annotated with the gs1:handledBy link type.", function () {
    // Not applicable: the resolver processes every code itself (mirror, verdict); it never hands a
    // whole company prefix to another resolver, so no redirect needs gs1:handledBy.
    it("redirects only to links of the code's own linkset, none of them gs1:handledBy", async function () {
      for (const url of CODES) {
        const { linkset } = await linksetOf(url);
        const hrefs = new Set(
          linkset.flatMap((set) => relations(set).flatMap(([, links]) => links.map((link) => link.href))),
        );
        for (const set of linkset) expect(set).not.to.have.property(`${VOC}handledBy`);
        expect((await get(`${url}?linkType=gs1:handledBy`)).statusCode).to.equal(404);
        expect(hrefs.has(String((await get(`${url}?linkType=gs1:pip`)).headers.location))).to.equal(true);
      }
    });
  });

  describe("SHOULD tolerate trailing slashes at the end of GS1 Digital Link URIs, i.e. the resolver SHOULD NOT fail if one is present.", function () {
    it("answers the same with and without a trailing slash", async function () {
      for (const url of [
        ...CODES.map((u) => `${u}?linkType=linkset`),
        ...CODES.map((u) => `${u}?linkType=gs1:pip&a=b`),
        "/.well-known/gs1resolver",
        PRODUCT,
        LOT,
      ]) {
        const [path, query] = url.split("?");
        const plain = await get(url);
        const slashed = await get(`${path}/${query === undefined ? "" : `?${query}`}`);
        expect(slashed.statusCode, url).to.equal(plain.statusCode);
        expect(slashed.headers.location, url).to.equal(plain.headers.location);
        expect(slashed.body, url).to.equal(plain.body);
      }
    });
  });

  describe("brand links (a fake BrandLinkSource)", function () {
    const OTHER = acmeGtin("77777");
    let resolver: Awaited<ReturnType<typeof resolverWithLinks>> | undefined;
    const inject = (url: string, headers: Record<string, string> = {}) => {
      if (resolver === undefined) throw new Error("no resolver");
      return resolver.inject(url, headers);
    };
    beforeEach(async function () {
      // Acme's signed links for its GTIN; Knockoff Traders "publishing" links for another Acme GTIN.
      resolver = await resolverWithLinks(
        suite.fixture,
        fakeLinks([signedLinks(String(ACME.brandId)), signedLinks(String(FAKE.brandId), OTHER)]),
      );
    });
    afterEach(async function () {
      await resolver?.close();
      resolver = undefined;
    });

    it("lists the brand's links on the GTIN's anchor under their GS1 types, with hreflang and media type, before ours", async function () {
      const { linkset } = json<LinksetBody>(await inject(`${SERIAL}?linkType=linkset`));
      const product = linkset[2] as ContextObject;
      expect(product.anchor).to.equal(`${PUBLIC_URL}${PRODUCT}`);
      expect(product[`${VOC}pip`]).to.deep.equal([
        { href: "https://acme.example/en/rice", title: "Risotto rice", type: "text/html", hreflang: ["en"] },
        { href: "https://acme.example/fr/riz?src=qr#top", title: "Riz à risotto", type: "text/html", hreflang: ["fr"] },
      ]);
      expect(product[`${VOC}instructions`]).to.deep.equal([
        { href: "https://acme.example/cooking", title: "Cooking instructions" },
      ]);
      expect(product[`${VOC}certificationInfo`]).to.deep.equal([
        { href: "https://cert.example/acme/42", title: "Organic certificate", type: "application/pdf" },
      ]);
      // The resolver's own default stays the one default; links that are no GS1 link type or no web link are left out.
      expect(product[`${VOC}defaultLink`]).to.deep.equal([
        { href: `${PUBLIC_URL}${PRODUCT}`, title: "Product page: the brand that owns this barcode, recalls" },
      ]);
      expect(JSON.stringify(linkset)).not.to.include("schema").and.not.to.include("javascript:");
      expect(Object.keys(linkset[0] ?? {})).not.to.include(`${VOC}pip`);
    });

    it("says who signed the brand's link set, to re-check it against the chain", async function () {
      const { linkset } = json<LinksetBody>(await inject(`${PRODUCT}?linkType=linkset`));
      expect(linkset[0]?.["ta:signedBy"]).to.deep.equal({
        brandId: "1",
        gtin: GTIN,
        signer: "0x00000000000000000000000000000000000000a1",
        signature: `0x${"5a".repeat(65)}`,
        issuedAt: "2024-03-10T08:00:00.000Z",
      });
    });

    it("redirects gs1:pip to the brand's page, in the language asked for, the query passed on", async function () {
      const cases: [Record<string, string>, string][] = [
        [{}, "https://acme.example/en/rice?utm=qr"],
        [{ "accept-language": "fr-CH, fr;q=0.9, en;q=0.8" }, "https://acme.example/fr/riz?src=qr&utm=qr#top"],
        [{ "accept-language": "de-DE, en;q=0.5" }, "https://acme.example/en/rice?utm=qr"],
        [{ "accept-language": "de" }, "https://acme.example/en/rice?utm=qr"],
      ];
      for (const [headers, location] of cases) {
        const res = await inject(`${SERIAL}?linkType=gs1:pip&utm=qr`, headers);
        expect(res.statusCode).to.equal(307);
        expect(res.headers.location, JSON.stringify(headers)).to.equal(location);
        expect(String(res.headers.vary)).to.include("Accept-Language");
      }
      expect((await inject(`${LOT}?linkType=gs1:instructions`)).headers.location).to.equal(
        "https://acme.example/cooking",
      );
    });

    it("ignores a link set signed by a brand that does not own the GTIN's prefix", async function () {
      const { linkset } = json<LinksetBody>(await inject(`/01/${OTHER}?linkType=linkset`));
      expect(linkset[0]).not.to.have.property("ta:signedBy");
      expect(linkset[0]?.[`${VOC}pip`]).to.deep.equal([
        { href: `${PUBLIC_URL}/01/${OTHER}`, title: "Product page", type: "text/html" },
      ]);
      expect((await inject(`/01/${OTHER}?linkType=gs1:pip`)).headers.location).to.equal(`${PUBLIC_URL}/01/${OTHER}`);
    });
  });
});
