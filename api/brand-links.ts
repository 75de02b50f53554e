/**
 * Which stored link sets still speak for their brand. A set was accepted because its signer was the
 * brand's admin and the brand owned the GTIN's prefix; the chain can change both (an admin transfer
 * after a lost key, a released prefix). The resolver serves a set only while both still hold on the
 * mirror's chain and contract; until the brand signs again, its links are not served.
 *
 *   linkSetStatus(stored, mirror): LinkSetStatus       current, or why not
 *   currentLinkSets(store, mirror): BrandLinkSource     what the resolver reads
 *   mirrorBrandId(brandId): number | undefined          a message's brand id as the mirror keys it
 */
import type { BrandLinkSource } from "./link-source";
import type { Mirror } from "./mirror";
import type { LinkSetRepository, StoredLinkSet } from "./repositories/link-sets";

export type LinkSetStatus = { readonly current: true } | { readonly current: false; readonly reason: string };

type MirrorView = Pick<Mirror, "cursor" | "brands">;

/** Brand ids are uint64 on chain; the mirror's are SQLite integers, and any id it holds is a safe integer. */
export function mirrorBrandId(brandId: string): number | undefined {
  const n = Number(brandId);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export async function linkSetStatus(stored: StoredLinkSet, mirror: MirrorView): Promise<LinkSetStatus> {
  const cursor = await mirror.cursor.get();
  if (cursor === undefined) return { current: false, reason: "the mirror has not indexed a chain yet" };
  if (stored.chainId !== String(cursor.chainId) || stored.contract !== cursor.contract.toLowerCase()) {
    return {
      current: false,
      reason: `signed for contract ${stored.contract} on chain ${stored.chainId}; this API follows ${cursor.contract.toLowerCase()} on chain ${cursor.chainId}`,
    };
  }
  const { brandId, gtin } = stored.message;
  const id = mirrorBrandId(brandId);
  const brand = id === undefined ? undefined : await mirror.brands.get(id);
  if (brand === undefined) return { current: false, reason: `brand ${brandId} is not registered` };
  if (brand.admin.toLowerCase() !== stored.signer) {
    return {
      current: false,
      reason: `signed by ${stored.signer}, who is no longer the admin of brand ${brandId} (now ${brand.admin.toLowerCase()})`,
    };
  }
  const owner = await mirror.brands.ownerOfGtin(gtin);
  if (owner === undefined) return { current: false, reason: `no brand owns the company prefix of ${gtin} any more` };
  if (String(owner.brandId) !== brandId)
    return {
      current: false,
      reason: `the company prefix ${owner.prefix} of ${gtin} now belongs to brand ${owner.brandId}`,
    };
  return { current: true };
}

export function currentLinkSets(store: LinkSetRepository, mirror: MirrorView): BrandLinkSource {
  return {
    async linkSetOf(gtin) {
      const stored = await store.get(gtin);
      if (stored === undefined || !(await linkSetStatus(stored, mirror)).current) return undefined;
      return store.linkSetOf(gtin);
    },
  };
}
