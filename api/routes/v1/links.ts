/**
 * PUT /v1/links/{gtin}: a brand's link set for a GTIN, EIP-712 signed with its admin key. Kept only
 * if the signer is the brand's current admin in the mirror, the brand owns the GTIN's company prefix
 * (the longest assigned prefix, as the resolver decides ownership), the domain is the mirror's chain
 * and contract, and it is newer than the stored one. GET returns the stored set with everything
 * needed to re-check the signature without trusting this API.
 */
import { Type, type Static } from "@sinclair/typebox";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import { ValidationError } from "../../../core/errors";
import { toGtin14 } from "../../../core/gs1";
import {
  LINK_SET_DOMAIN_NAME,
  LINK_SET_DOMAIN_VERSION,
  LINK_SET_PRIMARY_TYPE,
  LINK_SET_TYPES,
  MAX_HREF,
  MAX_LINKS,
  linkSetDigest,
  linkSetDomain,
  parseLinkSet,
  recoverLinkSetSigner,
  type LinkSetMessage,
} from "../../../core/link-set";
import { linkSetStatus, mirrorBrandId } from "../../brand-links";
import { ApiError, notFound } from "../../errors";
import type { Mirror } from "../../mirror";
import type { LinkSetRepository, StoredLinkSet } from "../../repositories/link-sets";
import { Address, ErrorBody, IsoTime, errorResponses } from "../../schemas";

export interface LinkRouteOptions {
  readonly mirror: Mirror;
  /** The writable store; both routes answer 503 without it. */
  readonly linkSets: LinkSetRepository | undefined;
  /** Unix seconds (tests); default the clock. */
  readonly now?: () => number;
}

/** How far ahead of this server's clock an issuedAt may be: a set dated far ahead could never be replaced. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

const Gtin = Type.String({ pattern: "^[0-9]{8,14}$", description: "GTIN-8, -12, -13 or -14 with a valid check digit" });

const LinkJson = Type.Object(
  {
    linkType: Type.String({ maxLength: 100, description: "compact GS1 link type, e.g. gs1:pip" }),
    href: Type.String({ maxLength: MAX_HREF, description: "https URL (http only for localhost)" }),
    title: Type.String({ maxLength: 1000, description: "1 to 200 characters" }),
    hreflang: Type.String({ maxLength: 35, description: "BCP 47 language tag, or empty" }),
    mediaType: Type.String({ maxLength: 255, description: "media type of the target, or empty" }),
  },
  { additionalProperties: false },
);

const LinkSetJson = Type.Object(
  {
    brandId: Type.String({ pattern: "^[1-9][0-9]{0,19}$", description: "decimal brand id (uint64)" }),
    gtin: Type.String({ pattern: "^[0-9]{14}$", description: "GTIN-14" }),
    issuedAt: Type.Integer({ minimum: 1, description: "unix seconds when the brand signed it; must grow" }),
    links: Type.Array(LinkJson, { maxItems: MAX_LINKS }),
  },
  { additionalProperties: false, description: "the EIP-712 message, primary type LinkSet" },
);

const DomainJson = Type.Object(
  {
    name: Type.Literal(LINK_SET_DOMAIN_NAME),
    version: Type.Literal(LINK_SET_DOMAIN_VERSION),
    chainId: Type.Integer({ minimum: 1 }),
    verifyingContract: Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" }),
  },
  { additionalProperties: false },
);

const TypedField = Type.Object({ name: Type.String(), type: Type.String() });

const LinkSetDocument = Type.Object({
  gtin: Type.String(),
  brandId: Type.String(),
  issuedAt: IsoTime,
  acceptedAt: IsoTime,
  signer: Address,
  signature: Type.String(),
  digest: Type.String({ description: "the EIP-712 digest that was signed" }),
  current: Type.Boolean({
    description:
      "whether the resolver serves it: the signer is still the brand's admin and the brand still owns the GTIN's prefix",
  }),
  reason: Type.Optional(Type.String({ description: "why it is not current" })),
  links: Type.Array(LinkJson),
  typedData: Type.Object(
    {
      domain: DomainJson,
      types: Type.Object({ LinkSet: Type.Array(TypedField), Link: Type.Array(TypedField) }),
      primaryType: Type.Literal(LINK_SET_PRIMARY_TYPE),
      message: LinkSetJson,
    },
    { description: "ethers: verifyTypedData(domain, types, message, signature) returns the signer" },
  ),
});

const PutBody = Type.Object(
  {
    linkSet: LinkSetJson,
    signature: Type.String({
      pattern: "^0x[0-9a-fA-F]{130}$",
      description: "65-byte EIP-712 signature by the brand's admin",
    }),
    domain: Type.Optional(DomainJson),
  },
  { additionalProperties: false },
);

/** A refusal that names who signed, who should have, or which prefix owns the GTIN. */
const Refusal = Type.Composite([
  ErrorBody,
  Type.Object({
    expected: Type.Optional(Address),
    signer: Type.Optional(Address),
    prefix: Type.Optional(Type.String({ description: "the company prefix that owns the GTIN" })),
    ownerBrandId: Type.Optional(Type.String()),
    brandPrefixes: Type.Optional(Type.Array(Type.String())),
    storedIssuedAt: Type.Optional(Type.Integer()),
  }),
]);
type RefusalBody = Static<typeof Refusal>;

async function document(stored: StoredLinkSet, mirror: Mirror): Promise<Static<typeof LinkSetDocument>> {
  const domain = linkSetDomain(stored.chainId, stored.contract);
  const status = await linkSetStatus(stored, mirror);
  const message = stored.message;
  return {
    gtin: message.gtin,
    brandId: message.brandId,
    issuedAt: new Date(message.issuedAt * 1000).toISOString(),
    acceptedAt: new Date(stored.acceptedAt * 1000).toISOString(),
    signer: stored.signer,
    signature: stored.signature,
    digest: linkSetDigest(domain, message),
    current: status.current,
    ...(status.current ? {} : { reason: status.reason }),
    links: message.links.map((link) => ({ ...link })),
    typedData: {
      domain: {
        name: LINK_SET_DOMAIN_NAME,
        version: LINK_SET_DOMAIN_VERSION,
        chainId: Number(stored.chainId),
        verifyingContract: stored.contract,
      },
      types: { LinkSet: [...LINK_SET_TYPES.LinkSet], Link: [...LINK_SET_TYPES.Link] },
      primaryType: LINK_SET_PRIMARY_TYPE,
      message: { ...message, links: message.links.map((link) => ({ ...link })) },
    },
  };
}

/** Core's checks as a 400 naming the field, inside `outer` of the body when given. */
function checked<T>(outer: string | undefined, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ValidationError) {
      const field = outer === undefined ? err.field : err.withLocation({ field: outer }).field;
      throw new ApiError(400, err.code, err.reason, field, { cause: err });
    }
    throw err;
  }
}

interface ValidationIssue {
  readonly instancePath?: string;
  readonly params?: { readonly missingProperty?: unknown };
}

/** Schema validation as a 400 naming the field itself, a missing one included ("linkSet.links.0.title"). */
function invalidRequest(error: Error & { validation: unknown; validationContext: string }): ApiError {
  const issue: ValidationIssue | undefined = Array.isArray(error.validation)
    ? (error.validation[0] as ValidationIssue | undefined)
    : undefined;
  const parts = (issue?.instancePath ?? "").split("/").filter((part) => part !== "");
  const missing = issue?.params?.missingProperty;
  if (typeof missing === "string") parts.push(missing);
  return new ApiError(
    400,
    "INVALID_REQUEST",
    error.message,
    parts.length > 0 ? parts.join(".") : error.validationContext,
    { cause: error },
  );
}

const refuse = (reply: FastifyReply, status: 403 | 409, body: RefusalBody): FastifyReply =>
  reply.code(status).header("cache-control", "no-store").type("application/json; charset=utf-8").send(body);

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<LinkRouteOptions> = async (app, options) => {
  const { mirror, linkSets, now = () => Math.floor(Date.now() / 1000) } = options;
  const store = (): LinkSetRepository => {
    if (linkSets === undefined) throw new ApiError(503, "LINKS_DISABLED", "this replica keeps no link sets");
    return linkSets;
  };

  app.get(
    "/v1/links/:gtin",
    {
      schema: {
        summary: "A brand's signed link set for a GTIN",
        description: "The newest accepted set, with the EIP-712 domain, types, message and signature to re-check it.",
        tags: ["Links"],
        params: Type.Object({ gtin: Gtin }),
        response: { 200: LinkSetDocument, ...errorResponses(400, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const gtin = checked(undefined, () => toGtin14(request.params.gtin, "gtin"));
      const stored = await store().get(gtin);
      if (stored === undefined) throw notFound("link set");
      reply.header("cache-control", "no-cache");
      return document(stored, mirror);
    },
  );

  app.put(
    "/v1/links/:gtin",
    {
      attachValidation: true,
      schema: {
        summary: "Publish a brand's link set for a GTIN",
        description:
          "EIP-712 typed data (domain \"TraceAnchor Links\" v1, the mirror's chain and contract; primary type LinkSet) signed by the brand's current admin. " +
          "Replaces the stored set only if issuedAt is greater. 403 names the expected admin and the recovered signer, or the prefix that owns the GTIN.",
        tags: ["Links"],
        params: Type.Object({ gtin: Gtin }),
        body: PutBody,
        response: { 200: LinkSetDocument, 403: Refusal, 409: Refusal, ...errorResponses(400, 404, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      if (request.validationError !== undefined) throw invalidRequest(request.validationError);
      const linkSetStore = store();
      const gtin = checked(undefined, () => toGtin14(request.params.gtin, "gtin"));
      const message: LinkSetMessage = checked("linkSet", () => parseLinkSet(request.body.linkSet));
      if (message.gtin !== gtin)
        throw new ApiError(
          400,
          "GTIN_MISMATCH",
          `the link set is for ${message.gtin}, the path names ${gtin}`,
          "linkSet.gtin",
        );
      const clock = now();
      if (message.issuedAt > clock + MAX_CLOCK_SKEW_SECONDS) {
        throw new ApiError(
          400,
          "ISSUED_IN_FUTURE",
          `issuedAt ${message.issuedAt} is more than ${MAX_CLOCK_SKEW_SECONDS} s ahead of this server's clock (${clock})`,
          "linkSet.issuedAt",
        );
      }

      const cursor = await mirror.cursor.get();
      if (cursor === undefined) throw new ApiError(503, "NOT_READY", "the mirror has not indexed a chain yet");
      const contract = cursor.contract.toLowerCase();
      const sent = request.body.domain;
      if (sent !== undefined && sent.chainId !== cursor.chainId) {
        throw new ApiError(
          400,
          "WRONG_DOMAIN",
          `signed for chain ${sent.chainId}; this API follows chain ${cursor.chainId}`,
          "domain.chainId",
        );
      }
      if (sent !== undefined && sent.verifyingContract.toLowerCase() !== contract) {
        throw new ApiError(
          400,
          "WRONG_DOMAIN",
          `signed for contract ${sent.verifyingContract.toLowerCase()}; this API follows ${contract}`,
          "domain.verifyingContract",
        );
      }

      const brandId = mirrorBrandId(message.brandId);
      const brand = brandId === undefined ? undefined : await mirror.brands.get(brandId);
      if (brand === undefined)
        throw new ApiError(
          404,
          "NOT_FOUND",
          `brand ${message.brandId} is not registered (or not indexed yet)`,
          "linkSet.brandId",
        );

      const domain = linkSetDomain(cursor.chainId, cursor.contract);
      const signer = checked(undefined, () => recoverLinkSetSigner(domain, message, request.body.signature));
      const admin = brand.admin.toLowerCase();
      if (signer !== admin) {
        return refuse(reply, 403, {
          error: "SIGNER_NOT_ADMIN",
          message: `the link set is signed by ${signer}, but the admin of brand ${message.brandId} is ${admin}`,
          field: "signature",
          expected: admin,
          signer,
        });
      }

      const owner = await mirror.brands.ownerOfGtin(gtin);
      if (owner === undefined || owner.brandId !== brand.brandId) {
        const brandPrefixes = (await mirror.brands.prefixes(brand.brandId)).map((p) => p.prefix);
        return refuse(reply, 403, {
          error: "GTIN_NOT_BRANDS",
          message:
            owner === undefined
              ? `no brand owns the company prefix of ${gtin}; brand ${message.brandId} has ${brandPrefixes.join(", ") || "no prefixes"}`
              : `${gtin} is under company prefix ${owner.prefix}, which belongs to brand ${owner.brandId}, not brand ${message.brandId}`,
          field: "linkSet.gtin",
          ...(owner === undefined ? {} : { prefix: owner.prefix, ownerBrandId: String(owner.brandId) }),
          brandPrefixes,
        });
      }

      const result = await linkSetStore.put({
        chainId: String(cursor.chainId),
        contract,
        message,
        signature: request.body.signature.toLowerCase(),
        signer,
        acceptedAt: clock,
      });
      if (!result.ok) {
        const storedAt = result.stored.message.issuedAt;
        return refuse(reply, 409, {
          error: "STALE_LINK_SET",
          message: `a link set issued at ${storedAt} is kept for ${gtin}; a new one needs a greater issuedAt than that, got ${message.issuedAt}`,
          field: "linkSet.issuedAt",
          storedIssuedAt: storedAt,
        });
      }
      const stored = await linkSetStore.get(gtin);
      if (stored === undefined) throw new Error(`link set for ${gtin} not found right after it was written`);
      reply.header("cache-control", "no-store");
      return document(stored, mirror);
    },
  );
};

export default plugin;
