/**
 * The GS1 Digital Link resolver: GET /01/{gtin}[/10/{lot}][/21/{serial}].
 *
 * JSON item document by default; `?linkType=linkset` (or `all`) or `Accept: application/linkset+json`
 * gives the RFC 9264 linkset; `Accept: text/html` gives the scan page once a `renderHtml` is
 * injected, JSON until then. Every other path under /01/ is a malformed Digital Link (400).
 */
import { ErrorBody } from "../schemas";
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { DigitalLinkError, ValidationError } from "../../core/errors";
import { checkLot, checkSerial, toGtin14 } from "../../core/gs1";
import { parseDigitalLink } from "../../core/digital-link";
import { itemDocumentJson, linksetOf, type ItemContext, type ItemDoc, type ItemKey } from "../documents";
import { ApiError, notFound } from "../errors";
import { negotiate } from "../http";
import { DigitalLinkQuery, ItemDocument, Linkset, errorResponses } from "../schemas";
import type { RouteOptions } from "./options";

const Gtin = Type.String({ pattern: "^[0-9]{8,14}$", description: "GTIN-8, -12, -13 or -14 with a valid check digit" });
const Ai82 = (what: string) =>
  Type.String({ minLength: 1, maxLength: 20, pattern: '^[!"%-?A-Z_a-z]+$', description: `${what}: 1 to 20 characters of GS1 character set 82` });

const PATHS = [
  { url: "/01/:gtin", params: Type.Object({ gtin: Gtin }) },
  { url: "/01/:gtin/10/:lot", params: Type.Object({ gtin: Gtin, lot: Ai82("lot (AI 10)") }) },
  { url: "/01/:gtin/21/:serial", params: Type.Object({ gtin: Gtin, serial: Ai82("serial (AI 21)") }) },
  { url: "/01/:gtin/10/:lot/21/:serial", params: Type.Object({ gtin: Gtin, lot: Ai82("lot (AI 10)"), serial: Ai82("serial (AI 21)") }) },
] as const;

/** Seconds a client may reuse an item document; verdicts (revocation, recall, scans) change. */
const ITEM_MAX_AGE = 30;

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

const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  const ctx: ItemContext = { mirror: options.mirror, config: options.config, scans: options.scans };
  const { renderHtml } = options;
  const cacheControl = `${options.scans === undefined ? "public" : "private"}, max-age=${ITEM_MAX_AGE}`;

  for (const { url, params } of PATHS) {
    app.get(
      url,
      {
        attachValidation: true,
        schema: {
          summary: "Resolve a GS1 Digital Link",
          description:
            "Item document (JSON) with verdict, identity proof, trace events and scan count; RFC 9264 linkset with ?linkType=linkset or Accept: application/linkset+json.",
          tags: ["Digital Link"],
          params,
          querystring: DigitalLinkQuery,
          response: {
            200: {
              description: "item document, or its linkset",
              content: {
                "application/json": { schema: ItemDocument },
                "application/linkset+json": { schema: Linkset },
                "text/html": { schema: Type.String({ description: "the scan page, once a renderer is configured" }) },
              },
            },
            ...errorResponses(400, 429, 503),
            404: {
              description: "unknown item: a JSON error, or the scan page's 'unknown' page for browsers",
              content: {
                "application/json": { schema: ErrorBody },
                "text/html": { schema: Type.String({ description: "the unknown-item page" }) },
              },
            },
          },
        },
      },
      // A plain function: Fastify catches what it throws, and no promise is made per request.
      (request, reply) => {
        if (request.validationError !== undefined) {
          // Re-check with core to name the GS1 rule broken; a query problem falls through to the generic 400.
          itemKeyFromParams(request.params);
          throw request.validationError;
        }
        const key = itemKeyFromParams(request.params);
        const linkType = request.query.linkType;
        const format = linkType === "linkset" || linkType === "all" ? "linkset" : negotiate(request.headers.accept);
        reply.header("vary", "Accept");
        if (format === "linkset") {
          const linkset = linksetOf(ctx, key);
          if (linkset === undefined) throw notFound("item");
          void reply.header("cache-control", `public, max-age=${ITEM_MAX_AGE}`).type("application/linkset+json").send(linkset);
          return;
        }
        const counts = request.method === "GET" && key.serial !== undefined && ctx.scans !== undefined;
        const text = itemDocumentJson(ctx, key, counts ? { client: request.ip, now: Math.floor(Date.now() / 1000) } : undefined);
        if (text === undefined) {
          if (format === "html" && options.renderUnknownHtml !== undefined) {
            void reply.code(404).header("cache-control", cacheControl).type("text/html; charset=utf-8").send(options.renderUnknownHtml(key));
            return;
          }
          throw notFound("item");
        }
        reply.header("cache-control", cacheControl);
        if (format === "html" && renderHtml !== undefined) {
          void reply.type("text/html; charset=utf-8").send(renderHtml(JSON.parse(text) as ItemDoc));
          return;
        }
        // Already the ItemDocument schema's JSON: sent as is, not re-serialised.
        void reply.type("application/json; charset=utf-8").send(text);
      },
    );
  }

  app.route({
    method: ["GET", "HEAD"],
    url: "/01/*",
    schema: { hide: true, response: errorResponses(400) },
    handler: async (request: FastifyRequest) => {
      throw malformed(request.url);
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
