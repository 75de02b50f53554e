/**
 * Where the resolver gets the links a brand publishes for a GTIN (product page, instructions,
 * certificates, …): link sets the brand signed with its on-chain admin key and the API kept after
 * checking the signature. The resolver adds them to the linkset and uses them as redirect targets.
 *
 *   NO_BRAND_LINKS: BrandLinkSource     a source with no link sets (tests, a service without the store)
 */

/** One link of a brand's link set. */
export interface BrandLink {
  /** A GS1 link type in its compact form, e.g. "gs1:pip", "gs1:instructions", "gs1:certificationInfo". */
  readonly type: string;
  readonly href: string;
  readonly title: string;
  /** BCP 47 language tags of the target, e.g. ["en"]. */
  readonly hreflang?: readonly string[];
  /** Media type of the target, when the brand gave one. */
  readonly mediaType?: string;
}

/** The newest accepted link set of a GTIN, with what anyone needs to re-check its signature. */
export interface BrandLinkSet {
  readonly brandId: string;
  readonly gtin: string;
  readonly links: readonly BrandLink[];
  /** The account that signed it (the brand's on-chain admin when it was accepted). */
  readonly signer: string;
  /** EIP-712 signature over the link set. */
  readonly signature: string;
  /** When the brand signed it (ISO 8601); a newer one replaces an older one. */
  readonly issuedAt: string;
}

export interface BrandLinkSource {
  /** The newest accepted link set for a GTIN-14, or undefined. */
  linkSetOf(gtin: string): Promise<BrandLinkSet | undefined>;
}

export const NO_BRAND_LINKS: BrandLinkSource = { linkSetOf: () => Promise.resolve(undefined) };
