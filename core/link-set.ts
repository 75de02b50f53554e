/**
 * A brand's link set for one GTIN (product page, instructions, certificates, …) as EIP-712 typed
 * data, signed with the brand's on-chain admin key. One definition for the CLI that signs it and the
 * API that checks it.
 *
 *   LINK_SET_TYPES                                  the `LinkSet` and `Link` struct types, for ethers
 *   linkSetDomain(chainId, verifyingContract)       the domain: name "TraceAnchor Links", version "1"
 *   parseLinkSet(value): LinkSetMessage             checks a message; throws ValidationError naming the field
 *   checkLink(value, field?): LinkSetLink           checks one link the same way
 *   linkSetDigest(domain, message): string          the EIP-712 digest that is signed
 *   recoverLinkSetSigner(domain, message, sig)      the signing address (lowercase)
 *   LINK_TYPES, MAX_LINKS, isLinkType(s)            the link types a brand may publish
 */
import { TypedDataEncoder, getAddress, isAddress, verifyTypedData } from "ethers";
import type { TypedField } from "./anchor-signature";
import { ValidationError } from "./errors";
import { toGtin14 } from "./gs1";

export const LINK_SET_DOMAIN_NAME = "TraceAnchor Links";
export const LINK_SET_DOMAIN_VERSION = "1";
export const LINK_SET_PRIMARY_TYPE = "LinkSet";

const LINK_SET_STRUCT: TypedField[] = [
  { name: "brandId", type: "uint64" },
  { name: "gtin", type: "string" },
  { name: "issuedAt", type: "uint64" },
  { name: "links", type: "Link[]" },
];
const LINK_STRUCT: TypedField[] = [
  { name: "linkType", type: "string" },
  { name: "href", type: "string" },
  { name: "title", type: "string" },
  { name: "hreflang", type: "string" },
  { name: "mediaType", type: "string" },
];

export const LINK_SET_TYPES = { LinkSet: LINK_SET_STRUCT, Link: LINK_STRUCT };

export interface LinkSetDomain {
  readonly name: string;
  readonly version: string;
  readonly chainId: bigint;
  /** The TraceAnchor contract whose brand admins sign link sets. */
  readonly verifyingContract: string;
}

/** One link, as signed. Empty `hreflang` or `mediaType`: not given. */
export interface LinkSetLink {
  /** A GS1 link type in its compact form, one of LINK_TYPES. */
  readonly linkType: string;
  readonly href: string;
  readonly title: string;
  readonly hreflang: string;
  readonly mediaType: string;
}

/** The signed message. `brandId` is a decimal string (uint64); `issuedAt` is unix seconds. */
export interface LinkSetMessage {
  readonly brandId: string;
  /** GTIN-14. */
  readonly gtin: string;
  readonly issuedAt: number;
  readonly links: readonly LinkSetLink[];
}

/** At most this many links in one set. */
export const MAX_LINKS = 50;
export const MAX_TITLE = 200;
export const MAX_HREF = 1000;

/**
 * The link types of GS1's Web Vocabulary (https://ref.gs1.org/voc/, link types) that a brand
 * publishes for a product. Left out on purpose: gs1:defaultLink and gs1:defaultLinkMulti (the
 * resolver picks its default itself) and gs1:verificationService (the resolver's own, chain-backed
 * check: a brand link must not stand in for it).
 */
export const LINK_TYPES: readonly string[] = [
  "gs1:activityIdeas",
  "gs1:allergenInfo",
  "gs1:appDownload",
  "gs1:brandHomepageClinical",
  "gs1:brandHomepagePatient",
  "gs1:careersInfo",
  "gs1:certificationInfo",
  "gs1:consumerHandlingStorageInfo",
  "gs1:dpp",
  "gs1:eifu",
  "gs1:epcis",
  "gs1:epil",
  "gs1:eventsInfo",
  "gs1:faqs",
  "gs1:handledBy",
  "gs1:hasRetailers",
  "gs1:homepage",
  "gs1:ingredientsInfo",
  "gs1:instructions",
  "gs1:leaveReview",
  "gs1:locationInfo",
  "gs1:logisticsInfo",
  "gs1:loyaltyProgram",
  "gs1:masterData",
  "gs1:nutritionalInfo",
  "gs1:pip",
  "gs1:productSustainabilityInfo",
  "gs1:promotion",
  "gs1:purchaseSuppliesOrAccessories",
  "gs1:quickStartGuide",
  "gs1:recallStatus",
  "gs1:recipeInfo",
  "gs1:registerProduct",
  "gs1:relatedImage",
  "gs1:relatedVideo",
  "gs1:review",
  "gs1:safetyInfo",
  "gs1:serviceInfo",
  "gs1:smartLabel",
  "gs1:smpc",
  "gs1:socialMedia",
  "gs1:support",
  "gs1:sustainabilityInfo",
  "gs1:traceability",
  "gs1:tutorial",
  "gs1:userAgreement",
  "gs1:whatsInTheBox",
];

const LINK_TYPE_SET: ReadonlySet<string> = new Set(LINK_TYPES);

export function isLinkType(value: string): boolean {
  return LINK_TYPE_SET.has(value);
}

const UINT64_MAX = 2n ** 64n - 1n;
const BRAND_ID = /^[1-9][0-9]{0,19}$/;
/** BCP 47 in its common shape: a 2-3 letter language, then subtags (script, region, variant). */
const HREFLANG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
/** type/subtype with RFC 6838 restricted names, no parameters. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses in titles
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LOCAL_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);
const LINK_FIELDS: ReadonlySet<string> = new Set(LINK_STRUCT.map((f) => f.name));
const MESSAGE_FIELDS: ReadonlySet<string> = new Set(LINK_SET_STRUCT.map((f) => f.name));

const invalid = (field: string, reason: string, code = "LINK_SET_INVALID"): ValidationError =>
  new ValidationError(reason, { field, code });

export function linkSetDomain(chainId: bigint | number | string, verifyingContract: string): LinkSetDomain {
  if (!isAddress(verifyingContract))
    throw invalid("verifyingContract", `expected a contract address, got ${JSON.stringify(verifyingContract)}`);
  return {
    name: LINK_SET_DOMAIN_NAME,
    version: LINK_SET_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: getAddress(verifyingContract),
  };
}

function record(value: unknown, field: string, known: ReadonlySet<string>): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("expected an object", { ...(field === "" ? {} : { field }), code: "LINK_SET_INVALID" });
  }
  const object = value as Record<string, unknown>;
  // Fields outside the struct are not signed: refusing them keeps "what was sent" equal to "what was signed".
  const extra = Object.keys(object).find((key) => !known.has(key));
  if (extra !== undefined)
    throw invalid(field === "" ? extra : `${field}.${extra}`, "not a field of the signed link set");
  return object;
}

function string(object: Record<string, unknown>, key: string, field: string): string {
  const value = object[key];
  if (typeof value !== "string") throw invalid(field, "expected a string");
  return value;
}

function checkHref(href: string, field: string): void {
  if (href.length === 0 || href.length > MAX_HREF) throw invalid(field, `must be 1 to ${MAX_HREF} characters`);
  if (/\s/.test(href) || CONTROL.test(href)) throw invalid(field, "must not contain spaces or control characters");
  let url: URL;
  try {
    url = new URL(href);
  } catch (error) {
    throw new ValidationError(
      `not an absolute URL: ${JSON.stringify(href.slice(0, 100))}`,
      { field, code: "LINK_SET_INVALID" },
      { cause: error },
    );
  }
  const local = LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local))
    throw invalid(field, "must be an https URL (http only for localhost)");
  if (url.username !== "" || url.password !== "") throw invalid(field, "must not carry a user name or password");
}

/** Checks one link; `field` is where it sits in the message (e.g. "links.2"). */
export function checkLink(value: unknown, field = "link"): LinkSetLink {
  const object = record(value, field, LINK_FIELDS);
  const linkType = string(object, "linkType", `${field}.linkType`);
  if (!isLinkType(linkType)) {
    throw invalid(
      `${field}.linkType`,
      `${JSON.stringify(linkType.slice(0, 100))} is not a GS1 link type this resolver serves (e.g. gs1:pip, gs1:instructions, gs1:certificationInfo)`,
    );
  }
  const href = string(object, "href", `${field}.href`);
  checkHref(href, `${field}.href`);
  const title = string(object, "title", `${field}.title`);
  const titleLength = [...title].length;
  if (titleLength < 1 || titleLength > MAX_TITLE || title.trim() === "")
    throw invalid(`${field}.title`, `must be 1 to ${MAX_TITLE} characters, not only spaces`);
  if (CONTROL.test(title)) throw invalid(`${field}.title`, "must not contain control characters");
  const hreflang = string(object, "hreflang", `${field}.hreflang`);
  if (hreflang !== "" && (hreflang.length > 35 || !HREFLANG.test(hreflang))) {
    throw invalid(
      `${field}.hreflang`,
      `must be a BCP 47 language tag such as "en" or "pt-BR", or empty, got ${JSON.stringify(hreflang.slice(0, 40))}`,
    );
  }
  const mediaType = string(object, "mediaType", `${field}.mediaType`);
  if (mediaType !== "" && !MEDIA_TYPE.test(mediaType)) {
    throw invalid(
      `${field}.mediaType`,
      `must be a media type such as "text/html" or "application/pdf", or empty, got ${JSON.stringify(mediaType.slice(0, 100))}`,
    );
  }
  return { linkType, href, title, hreflang, mediaType };
}

/** The same type and language twice would make "the gs1:pip link in English" ambiguous. */
const linkKey = (link: LinkSetLink): string => `${link.linkType} ${link.hreflang.toLowerCase()}`;

/** Checks a message as it arrives (JSON); returns exactly the fields that are signed. */
export function parseLinkSet(value: unknown): LinkSetMessage {
  const object = record(value, "", MESSAGE_FIELDS);
  const brandId = object.brandId;
  if (typeof brandId !== "string" || !BRAND_ID.test(brandId) || BigInt(brandId) > UINT64_MAX) {
    throw invalid("brandId", 'must be a brand id as a decimal string ("1", "2", …)');
  }
  const gtin = string(object, "gtin", "gtin");
  if (toGtin14(gtin, "gtin") !== gtin) throw invalid("gtin", `must be the GTIN-14 form, ${toGtin14(gtin, "gtin")}`);
  const issuedAt = object.issuedAt;
  if (typeof issuedAt !== "number" || !Number.isSafeInteger(issuedAt) || issuedAt < 1)
    throw invalid("issuedAt", "must be unix seconds, a positive whole number");
  const list = object.links;
  if (!Array.isArray(list)) throw invalid("links", "expected an array");
  if (list.length > MAX_LINKS) throw invalid("links", `at most ${MAX_LINKS} links, got ${list.length}`);
  const links = list.map((link: unknown, i) => checkLink(link, `links.${i}`));
  const seen = new Map<string, number>();
  links.forEach((link, i) => {
    const first = seen.get(linkKey(link));
    if (first !== undefined)
      throw invalid(
        `links.${i}`,
        `same link type and language as links.${first} (${link.linkType}${link.hreflang === "" ? "" : `, ${link.hreflang}`})`,
      );
    seen.set(linkKey(link), i);
  });
  return { brandId, gtin, issuedAt, links };
}

/** The EIP-712 digest of a link set: what the brand admin's key signs. */
export function linkSetDigest(domain: LinkSetDomain, message: LinkSetMessage): string {
  return TypedDataEncoder.hash(domain, LINK_SET_TYPES, message);
}

/** The address (lowercase) whose key signed this link set; throws ValidationError on a malformed signature. */
export function recoverLinkSetSigner(domain: LinkSetDomain, message: LinkSetMessage, signature: string): string {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature))
    throw invalid("signature", "must be a 65-byte signature, 0x + 130 hex digits", "SIGNATURE_INVALID");
  try {
    return verifyTypedData(domain, LINK_SET_TYPES, message, signature).toLowerCase();
  } catch (error) {
    throw new ValidationError(
      "not a valid secp256k1 signature",
      { field: "signature", code: "SIGNATURE_INVALID" },
      { cause: error },
    );
  }
}
