/**
 * The GS1-Conformant resolver's links: the RFC 9264 linkset of a Digital Link (an anchor per level
 * up to the GTIN, GS1 link types as https://gs1.org/voc/… URIs, the brand's signed links), the link
 * a `linkType` request redirects to, and the resolver description at /.well-known/gs1resolver.
 *
 *   requestedLinkType(value): "linkset" | string | undefined   linkset/all, a GS1 link type URI, or unknown
 *   linksetOf(ctx, key, doc): Promise<LinksetDoc>              every level's links, most specific anchor first
 *   chooseLink(linkset, type, acceptLanguage): Link | undefined the redirect target for a link type
 *   redirectLocation(href, requestUrl): string                  href with the request's query, minus linkType
 *   resolverDescription(config): ResolverDescriptionDoc
 *
 * Our own links never redirect: the Digital Link itself is the scan page (text/html, by content
 * negotiation), its documents live under /v1/items/… and its proof bundles under /v1/proofs/….
 */
import type { Static } from "@sinclair/typebox";
import { formatDigitalLink } from "../core/digital-link";
import type { ApiConfig } from "./config";
import { digitalLinkOf, type ItemContext, type ItemDoc, type ItemKey } from "./documents";
import { acceptedLanguages } from "./http";
import { NO_BRAND_LINKS, type BrandLink, type BrandLinkSet } from "./link-source";
import type { Linkset, ResolverDescription } from "./schemas";

export type LinksetDoc = Static<typeof Linkset>;
export type ResolverDescriptionDoc = Static<typeof ResolverDescription>;

/** GS1 Web Vocabulary namespace the linkset names link types in. */
export const GS1_VOC = "https://gs1.org/voc/";
/** Namespaces GS1 has published the vocabulary under; a `linkType` in any of them is recognised. */
const GS1_NAMESPACES = [
  "gs1:",
  GS1_VOC,
  "https://ref.gs1.org/voc/",
  "https://www.gs1.org/voc/",
  "http://gs1.org/voc/",
  "http://www.gs1.org/voc/",
];
const TERM = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
/** GS1's JSON-LD context for linksets (GS1-Conformant resolver standard, artefacts). */
export const LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context";

export const DEFAULT_LINK = `${GS1_VOC}defaultLink`;
const PIP = `${GS1_VOC}pip`;
const TRACEABILITY = `${GS1_VOC}traceability`;
const RECALL_STATUS = `${GS1_VOC}recallStatus`;
const VERIFICATION = `${GS1_VOC}verificationService`;
/** Link types only the resolver sets: the one default per anchor is its own page. */
const RESOLVER_ONLY = new Set([DEFAULT_LINK, `${GS1_VOC}defaultLinkMulti`]);

export interface Link {
  readonly href: string;
  readonly title: string;
  readonly type?: string;
  readonly hreflang?: readonly string[];
}

/** `https://gs1.org/voc/{term}` for a GS1 link type in its compact form or any GS1 namespace; undefined for anything else. */
export function gs1LinkType(value: string): string | undefined {
  for (const namespace of GS1_NAMESPACES) {
    if (!value.startsWith(namespace)) continue;
    const term = value.slice(namespace.length);
    return TERM.test(term) ? `${GS1_VOC}${term}` : undefined;
  }
  return undefined;
}

/** What a `linkType` query parameter asks for: the linkset (`linkset`, or the older `all`), a GS1 link type, or nothing we know (undefined). */
export function requestedLinkType(value: string): string | undefined {
  if (value === "linkset" || value === "all") return "linkset";
  return gs1LinkType(value);
}

/** The compact `gs1:` form of a link type URI of ours, for messages. */
export const compactLinkType = (uri: string): string =>
  uri.startsWith(GS1_VOC) ? `gs1:${uri.slice(GS1_VOC.length)}` : uri;

/** Where /v1/items serves the document of a key: JSON, never a redirect. */
export const itemsUrl = (config: ApiConfig, key: ItemKey): string =>
  formatDigitalLink(key, `${config.publicUrl}/v1/items`);

type Context = { anchor: string; [type: string]: unknown };

function context(anchor: string, links: Readonly<Record<string, readonly Link[]>>): Context {
  const out: Context = { anchor };
  for (const [type, list] of Object.entries(links)) if (list.length > 0) out[type] = list;
  return out;
}

/** A brand link as a linkset target, under its GS1 link type URI; undefined when it is not one we may serve. */
function brandTarget(link: BrandLink): { type: string; target: Link } | undefined {
  const type = gs1LinkType(link.type);
  if (type === undefined || RESOLVER_ONLY.has(type)) return undefined;
  if (!/^https?:\/\/[^\s/?#]+[^\s]*$/i.test(link.href) || typeof link.title !== "string" || link.title === "")
    return undefined;
  return {
    type,
    target: {
      href: link.href,
      title: link.title,
      ...(link.mediaType === undefined ? {} : { type: link.mediaType }),
      ...(link.hreflang === undefined || link.hreflang.length === 0 ? {} : { hreflang: [...link.hreflang] }),
    },
  };
}

/**
 * The brand's links for the GTIN, by link type: only a link set of the brand that owns the GTIN's
 * prefix (a brand cannot publish links for another's products), only GS1 link types, never a default.
 */
function brandLinks(
  set: BrandLinkSet | undefined,
  owner: string | undefined,
): { byType: Map<string, Link[]>; set: BrandLinkSet } | undefined {
  if (set === undefined || owner === undefined || set.brandId !== owner) return undefined;
  const byType = new Map<string, Link[]>();
  for (const link of set.links) {
    const entry = brandTarget(link);
    if (entry === undefined) continue;
    const list = byType.get(entry.type);
    if (list === undefined) byType.set(entry.type, [entry.target]);
    else list.push(entry.target);
  }
  return byType.size === 0 ? undefined : { byType, set };
}

/**
 * The linkset of a resolved Digital Link: its own anchor, then its lot's (a serial with a lot) and
 * its GTIN's, each with exactly one gs1:defaultLink, href and title. Brand links go on the GTIN's
 * anchor, before ours of the same type (the brand is the authority on its product's pages), with
 * `ta:signedBy`: who signed the link set, to re-check it against the chain.
 */
export async function linksetOf(ctx: ItemContext, key: ItemKey, doc: ItemDoc): Promise<LinksetDoc> {
  const { config } = ctx;
  const gtin = key.gtin;
  const entries: Context[] = [];
  if (key.serial !== undefined) {
    const links: Record<string, Link[]> = {
      [DEFAULT_LINK]: [
        { href: digitalLinkOf(config, key), title: "Scan page: is this item genuine, where has it been" },
      ],
      [TRACEABILITY]: [
        {
          href: itemsUrl(config, key),
          title: "Item document: verdict, identity record and trace events with Merkle proofs",
          type: "application/json",
        },
      ],
    };
    if (doc.identity !== null) {
      links[VERIFICATION] = [
        {
          href: `${config.publicUrl}/v1/proofs/${doc.identity.recordHash}`,
          title: "Proof bundle of the item's identity record, to verify against the chain",
          type: "application/json",
        },
      ];
    }
    entries.push(context(digitalLinkOf(config, key), links));
  }
  const lot = key.lot ?? doc.item.lot ?? undefined;
  if (lot !== undefined) {
    const lotKey = { gtin, lot };
    const lotDoc = {
      href: itemsUrl(config, lotKey),
      title: "Lot document: verdict, items, recalls and events with Merkle proofs",
      type: "application/json",
    };
    entries.push(
      context(digitalLinkOf(config, lotKey), {
        [DEFAULT_LINK]: [
          {
            href: digitalLinkOf(config, lotKey),
            title: "Lot page: registered by the barcode's owner, recalled or not",
          },
        ],
        [TRACEABILITY]: [lotDoc],
        [RECALL_STATUS]: [{ ...lotDoc, title: "Recall status of this lot, with proofs" }],
      }),
    );
  }

  const productKey = { gtin };
  const productPage = digitalLinkOf(config, productKey);
  const productDoc = {
    href: itemsUrl(config, productKey),
    title: "Product document: registered brand, items, recalled lots, with proofs",
    type: "application/json",
  };
  const brand = brandLinks(await (ctx.links ?? NO_BRAND_LINKS).linkSetOf(gtin), doc.brand?.brandId);
  const ours: Record<string, Link[]> = {
    [DEFAULT_LINK]: [{ href: productPage, title: "Product page: the brand that owns this barcode, recalls" }],
    [PIP]: [{ href: productPage, title: "Product page", type: "text/html" }],
    [TRACEABILITY]: [productDoc],
    [RECALL_STATUS]: [{ ...productDoc, title: "Recall status of this product and its lots, with proofs" }],
  };
  const product: Context = { anchor: productPage };
  for (const [type, list] of Object.entries(ours)) {
    const theirs = brand?.byType.get(type);
    // The brand's product information page replaces ours; for other types both are offered, theirs first.
    product[type] = theirs === undefined ? list : type === PIP ? theirs : [...theirs, ...list];
  }
  if (brand !== undefined) {
    for (const [type, list] of brand.byType) if (!(type in product)) product[type] = list;
    product["ta:signedBy"] = {
      brandId: brand.set.brandId,
      gtin: brand.set.gtin,
      signer: brand.set.signer,
      signature: brand.set.signature,
      issuedAt: brand.set.issuedAt,
    };
  }
  entries.push(product);
  return { linkset: entries as LinksetDoc["linkset"] };
}

function isLinkList(value: unknown): value is readonly Link[] {
  return (
    Array.isArray(value) &&
    value.every((v) => typeof v === "object" && v !== null && typeof (v as Link).href === "string")
  );
}

/** The link types of a linkset, compact, for telling a client what it may ask for. */
export function linkTypesOf(linkset: LinksetDoc): string[] {
  const types = new Set<string>();
  for (const entry of linkset.linkset)
    for (const [name, value] of Object.entries(entry)) if (isLinkList(value)) types.add(compactLinkType(name));
  return [...types].sort();
}

/**
 * The link a request for `type` redirects to: from the most specific anchor that has the type, the
 * one whose hreflang best fits Accept-Language, else the first.
 */
export function chooseLink(linkset: LinksetDoc, type: string, acceptLanguage: string | undefined): Link | undefined {
  for (const entry of linkset.linkset) {
    const list = (entry as Context)[type];
    if (!isLinkList(list) || list.length === 0) continue;
    if (list.length === 1) return list[0];
    for (const wanted of acceptedLanguages(acceptLanguage)) {
      const exact = list.find((link) => link.hreflang?.some((tag) => tag.toLowerCase() === wanted));
      if (exact !== undefined) return exact;
      const primary = wanted.split("-")[0];
      const near = list.find((link) => link.hreflang?.some((tag) => tag.toLowerCase().split("-")[0] === primary));
      if (near !== undefined) return near;
    }
    return list[0];
  }
  return undefined;
}

/** `href` with the request's query string passed on, all but `linkType` (GS1: pass on key=value pairs by default). */
export function redirectLocation(href: string, requestUrl: string): string {
  const q = requestUrl.indexOf("?");
  if (q < 0) return href;
  const kept = requestUrl
    .slice(q + 1)
    .split("&")
    .filter((pair) => pair !== "" && paramName(pair) !== "linkType");
  if (kept.length === 0) return href;
  const hash = href.indexOf("#");
  const [base, fragment] = hash < 0 ? [href, ""] : [href.slice(0, hash), href.slice(hash)];
  return `${base}${base.includes("?") ? "&" : "?"}${kept.join("&")}${fragment}`;
}

function paramName(pair: string): string {
  const eq = pair.indexOf("=");
  const raw = (eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    // Not percent-encoding we can read: not the linkType parameter either.
    return raw;
  }
}

/** The Link header every resolver response carries: where its linkset is. */
export const linksetLinkHeader = (anchor: string): string =>
  `<${anchor}?linkType=linkset>; rel="linkset"; type="application/linkset+json"`;

/** The Link header of a linkset response: GS1's JSON-LD context, to read the linkset as JSON-LD. */
export const CONTEXT_LINK_HEADER = `<${LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;

/**
 * /.well-known/gs1resolver. Primary keys as numeric AIs, as GS1's description file schema wants
 * them ("01": GTIN); link types in the GS1 Web Vocabulary only; the default link is the scan page,
 * never the linkset.
 */
export function resolverDescription(config: ApiConfig): ResolverDescriptionDoc {
  return {
    name: "TraceAnchor: anchored product records, verified per scan",
    resolverRoot: config.publicUrl,
    supportedPrimaryKeys: ["01"],
    supportedLinkType: [{ namespace: GS1_VOC, prefix: "gs1:", profile: "https://ref.gs1.org/voc/?show=linktypes" }],
    linkTypeDefaultCanBeLinkset: false,
  };
}
