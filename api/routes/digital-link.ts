/**
 * The GS1 Digital Link resolver: GET /01/{gtin}[/10/{lot}][/21/{serial}], conformant to GS1's
 * resolver standard (docs/resolver.md lists each SHALL and how it is met).
 *
 * At every level (serial, lot, product) the Digital Link itself answers, by content negotiation: the
 * document as JSON by default, the scan page for `Accept: text/html` once a `renderHtml` is injected,
 * the RFC 9264 linkset for `?linkType=linkset` (or `all`) or `Accept: application/linkset+json`.
 * `?linkType=gs1:pip` (any GS1 link type, compact or as a URI) redirects (307) to that link, the
 * request's other query parameters passed on; a link type it has none of is a JSON 404. Every
 * answer carries `Link: <…?linkType=linkset>; rel="linkset"`. Also served here: the documents at
 * /v1/items/01/… (JSON only, never a redirect, counting no scan: what the linkset links to) and the
 * resolver description at /.well-known/gs1resolver. Any other path under /01/ is a malformed
 * Digital Link (400).
 */
import { ErrorBody } from "../schemas";
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { DigitalLinkError, ValidationError } from "../../core/errors";
import { checkLot, checkSerial, toGtin14 } from "../../core/gs1";
import { parseDigitalLink } from "../../core/digital-link";
import {
  digitalLinkOf,
  itemDocumentJson,
  type ItemContext,
  type ItemDoc,
  type ItemDocText,
  type ItemKey,
} from "../documents";
import { ApiError, notFound } from "../errors";
import { negotiate } from "../http";
import {
  CONTEXT_LINK_HEADER,
  chooseLink,
  compactLinkType,
  linksetLinkHeader,
  linksetOf,
  linkTypesOf,
  redirectLocation,
  requestedLinkType,
  resolverDescription,
} from "../linkset";
import { NO_BRAND_LINKS } from "../link-source";
import { DigitalLinkQuery, ItemDocument, Linkset, PreRendered, ResolverDescription, errorResponses } from "../schemas";
import type { RouteOptions } from "./options";

const Gtin = Type.String({ pattern: "^[0-9]{8,14}$", description: "GTIN-8, -12, -13 or -14 with a valid check digit" });
const Ai82 = (what: string) =>
  Type.String({
    minLength: 1,
    maxLength: 20,
    pattern: '^[!"%-?A-Z_a-z]+$',
    description: `${what}: 1 to 20 characters of GS1 character set 82`,
  });

const PATHS = [
  { url: "/01/:gtin", params: Type.Object({ gtin: Gtin }) },
  { url: "/01/:gtin/10/:lot", params: Type.Object({ gtin: Gtin, lot: Ai82("lot (AI 10)") }) },
  { url: "/01/:gtin/21/:serial", params: Type.Object({ gtin: Gtin, serial: Ai82("serial (AI 21)") }) },
  {
    url: "/01/:gtin/10/:lot/21/:serial",
    params: Type.Object({ gtin: Gtin, lot: Ai82("lot (AI 10)"), serial: Ai82("serial (AI 21)") }),
  },
] as const;

/** Seconds a client may reuse a document, linkset or redirect; verdicts (revocation, recall, scans) change. */
const ITEM_MAX_AGE = 30;

/** CORS on resolver answers: the methods GS1 names (GET, HEAD, OPTIONS), and the Link header readable by scripts. */
const RESOLVER_CORS: Readonly<Record<string, string>> = Object.freeze({
  "access-control-allow-methods": "GET, HEAD, OPTIONS",
  "access-control-expose-headers": "ETag, Cache-Control, Link, Location",
});

/** The item key from path params, with GS1's own error for the first thing wrong. */
export function itemKeyFromParams(params: { gtin?: unknown; lot?: unknown; serial?: unknown }): ItemKey {
  try {
    const gtin = toGtin14(typeof params.gtin === "string" ? params.gtin : "", "gtin");
    const lot = params.lot === undefined ? undefined : checkLot(params.lot, "lot");
    const serial = params.serial === undefined ? undefined : checkSerial(params.serial, "serial");
    return { gtin, ...(lot === undefined ? {} : { lot }), ...(serial === undefined ? {} : { serial }) };
  } catch (err) {
    if (err instanceof ValidationError) throw new ApiError(400, err.code, err.reason, err.field, { cause: err });
    throw err;
  }
}

/** Nothing to resolve: an unknown serial, or a GTIN whose company prefix no brand owns ("no links", GS1's 404). */
function unresolved(key: ItemKey, doc: ItemDocText | undefined): ApiError {
  if (doc === undefined) return notFound("item");
  return new ApiError(
    404,
    "UNREGISTERED",
    `no brand has registered the GS1 company prefix of GTIN ${key.gtin}: this resolver has no links for it`,
    "gtin",
  );
}

/** Whether a document has links: a known serial, or a lot or product of a GTIN whose prefix a brand owns. */
const resolves = (doc: ItemDocText | undefined): boolean => doc !== undefined && doc.verdict !== "unregistered";

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  const ctx: ItemContext = {
    mirror: options.mirror,
    config: options.config,
    scans: options.scans,
    links: options.links ?? NO_BRAND_LINKS,
  };
  const { renderHtml, config } = options;
  const itemCacheControl = `${options.scans === undefined ? "public" : "private"}, max-age=${ITEM_MAX_AGE}`;
  // Lot and product documents count no scans: the same for every client.
  const classCacheControl = `public, max-age=${ITEM_MAX_AGE}`;
  const description = JSON.stringify(resolverDescription(config));

  /** `?linkType=…`: a 307 to the link of that type (the request's other parameters passed on), or a 404 naming the types there are. */
  const redirect = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: ItemKey,
    type: string,
  ): Promise<FastifyReply> => {
    const doc = await itemDocumentJson(ctx, key, undefined);
    if (doc === undefined || !resolves(doc)) throw unresolved(key, doc);
    const linkset = await linksetOf(ctx, key, JSON.parse(doc.text) as ItemDoc);
    const target = chooseLink(linkset, type, request.headers["accept-language"]);
    reply.header("vary", "Accept, Accept-Language");
    if (target === undefined) {
      throw new ApiError(
        404,
        "LINK_TYPE_NOT_FOUND",
        `no ${compactLinkType(type)} link for this Digital Link; it has ${linkTypesOf(linkset).join(", ")}`,
        "linkType",
      );
    }
    return reply
      .code(307)
      .header("cache-control", `public, max-age=${ITEM_MAX_AGE}`)
      .header("location", redirectLocation(target.href, request.url))
      .send();
  };

  for (const { url, params } of PATHS) {
    app.get(
      url,
      {
        attachValidation: true,
        schema: {
          summary: "Resolve a GS1 Digital Link",
          description:
            "The document of a serialised item, a lot or a product (JSON) with its verdict and proofs; the scan page for Accept: text/html; the RFC 9264 linkset " +
            "with ?linkType=linkset or Accept: application/linkset+json; a 307 to the link of ?linkType=gs1:… (other query parameters passed on).",
          tags: ["Digital Link"],
          params,
          querystring: DigitalLinkQuery,
          response: {
            200: {
              description: "document, or its linkset",
              content: {
                "application/json": { schema: ItemDocument },
                "application/linkset+json": { schema: Linkset },
                "text/html": { schema: Type.String({ description: "the scan page, once a renderer is configured" }) },
              },
            },
            307: { description: "to the link of the requested linkType", type: "null" },
            ...errorResponses(400, 429, 503),
            404: {
              description:
                "unknown item (the scan page's 'unknown' page for browsers), a GTIN whose prefix no brand owns (UNREGISTERED; the scan page's 'unregistered code' for browsers), or no link of the requested linkType",
              content: {
                "application/json": { schema: ErrorBody },
                "text/html": { schema: Type.String({ description: "the unknown-item or unregistered-code page" }) },
              },
            },
          },
        },
      },
      // The mirror's reads are promises on either engine (already settled ones on SQLite).
      async (request, reply) => {
        for (const name in RESOLVER_CORS) reply.header(name, RESOLVER_CORS[name]);
        if (request.validationError !== undefined) {
          // Re-check with core to name the GS1 rule broken; a query problem falls through to the generic 400.
          itemKeyFromParams(request.params);
          throw request.validationError;
        }
        const key = itemKeyFromParams(request.params);
        const anchor = digitalLinkOf(config, key);
        const linkType = request.query.linkType;
        const wanted = linkType === undefined ? undefined : requestedLinkType(linkType);
        reply.header("link", linksetLinkHeader(anchor));
        if (linkType !== undefined && wanted === undefined) {
          throw new ApiError(
            404,
            "LINK_TYPE_NOT_FOUND",
            `unknown linkType ${JSON.stringify(linkType.slice(0, 100))}: use linkset, or a GS1 link type such as gs1:pip`,
            "linkType",
          );
        }
        if (wanted !== undefined && wanted !== "linkset") {
          return redirect(request, reply, key, wanted);
        }
        const format = wanted === "linkset" ? "linkset" : negotiate(request.headers.accept);
        reply.header("vary", "Accept");
        if (format === "linkset") {
          const doc = await itemDocumentJson(ctx, key, undefined);
          if (doc === undefined || !resolves(doc)) throw unresolved(key, doc);
          const linkset = await linksetOf(ctx, key, JSON.parse(doc.text) as ItemDoc);
          // Exactly the RFC 9264 media type, which has no charset parameter (GS1's test suite compares it whole):
          // sent through a serializer of our own, which Fastify does not add a charset for.
          return reply
            .header("link", `${linksetLinkHeader(anchor)}, ${CONTEXT_LINK_HEADER}`)
            .header("cache-control", classCacheControl)
            .type("application/linkset+json")
            .serializer(String)
            .send(JSON.stringify(linkset));
        }
        const counts = request.method === "GET" && key.serial !== undefined && ctx.scans !== undefined;
        const doc = await itemDocumentJson(
          ctx,
          key,
          counts ? { client: request.ip, now: Math.floor(Date.now() / 1000) } : undefined,
        );
        const cacheControl = doc === undefined || doc.level === "serial" ? itemCacheControl : classCacheControl;
        if (doc === undefined || !resolves(doc)) {
          if (format === "html") {
            // The browser's page for the code: "unknown item" for a serial, the document's "unregistered code" otherwise.
            if (doc === undefined && options.renderUnknownHtml !== undefined) {
              return reply
                .code(404)
                .header("cache-control", cacheControl)
                .type("text/html; charset=utf-8")
                .send(options.renderUnknownHtml(key));
            }
            if (doc !== undefined && renderHtml !== undefined) {
              return reply
                .code(404)
                .header("cache-control", cacheControl)
                .type("text/html; charset=utf-8")
                .send(await renderHtml(JSON.parse(doc.text) as ItemDoc));
            }
          }
          throw unresolved(key, doc);
        }
        reply.header("cache-control", cacheControl);
        if (format === "html" && renderHtml !== undefined) {
          return reply.type("text/html; charset=utf-8").send(await renderHtml(JSON.parse(doc.text) as ItemDoc));
        }
        // Already the ItemDocument schema's JSON: sent as is, not re-serialised.
        return reply.type("application/json; charset=utf-8").send(doc.text);
      },
    );

    app.get(
      `/v1/items${url}`,
      {
        attachValidation: true,
        schema: {
          summary: "The document of a Digital Link, as JSON",
          description:
            "What /01/… answers in JSON, at its own URL: for the linkset's links. Never a redirect, never counted as a scan.",
          tags: ["Digital Link"],
          params,
          response: { 200: PreRendered(ItemDocument), ...errorResponses(400, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        if (request.validationError !== undefined) {
          itemKeyFromParams(request.params);
          throw request.validationError;
        }
        const key = itemKeyFromParams(request.params);
        const doc = await itemDocumentJson(ctx, key, undefined);
        if (doc === undefined || !resolves(doc)) throw unresolved(key, doc);
        return reply
          .header("cache-control", doc.level === "serial" ? itemCacheControl : classCacheControl)
          .type("application/json; charset=utf-8")
          .send(doc.text);
      },
    );
  }

  app.get(
    "/.well-known/gs1resolver",
    {
      schema: {
        summary: "GS1 resolver description file",
        description:
          "What this resolver supports: its root, primary keys (01: GTIN) and link type namespace (GS1 Web Vocabulary).",
        tags: ["Digital Link"],
        response: { 200: PreRendered(ResolverDescription) },
      },
    },
    (_request, reply) => {
      for (const name in RESOLVER_CORS) reply.header(name, RESOLVER_CORS[name]);
      void reply
        .header("cache-control", "public, max-age=3600")
        .type("application/json; charset=utf-8")
        .send(description);
    },
  );

  app.route({
    method: ["GET", "HEAD"],
    url: "/01/*",
    schema: { hide: true, response: errorResponses(400) },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      for (const name in RESOLVER_CORS) reply.header(name, RESOLVER_CORS[name]);
      throw malformed(request.url);
    },
  });
  app.route({
    method: ["GET", "HEAD"],
    url: "/v1/items/*",
    schema: { hide: true, response: errorResponses(400) },
    handler: (request: FastifyRequest) => {
      throw malformed(request.url.slice("/v1/items".length));
    },
  });
};

const AI_FIELDS: Readonly<Record<string, string>> = { "01": "gtin", "10": "lot", "21": "serial", "22": "cpv" };

function malformed(url: string): ApiError {
  const path = url.split("?")[0] ?? "";
  try {
    parseDigitalLink(`http://resolver${path}`);
  } catch (err) {
    if (err instanceof DigitalLinkError || err instanceof ValidationError) {
      const field = err.field === undefined ? "path" : (AI_FIELDS[err.field] ?? err.field);
      return new ApiError(400, err.code, err.reason, field, { cause: err });
    }
    throw err;
  }
  return new ApiError(400, "DL_UNSUPPORTED", "this resolver serves /01/{gtin}[/10/{lot}][/21/{serial}] only", "path");
}

export default plugin;
