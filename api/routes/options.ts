/** What every route plugin receives: the app's injected dependencies. */
import type { ApiConfig } from "../config";
import type { ItemDoc } from "../documents";
import type { BrandLinkSource } from "../link-source";
import type { Mirror } from "../mirror";
import type { ScansRepository } from "../repositories/scans";
import type { AcceptUpload } from "../upload";

/** The parts of the indexer's status /readyz looks at (indexer/indexer.ts `IndexerStatus`). */
export interface IndexerHealth {
  readonly state: string;
  /** "leader" (indexes and ingests) or "standby" (waits for the writer lock another replica holds). */
  readonly role?: string;
  readonly head: number | null;
  readonly indexedBlock: number | null;
  readonly stalled: boolean;
  readonly fatal: { readonly name: string; readonly code: string; readonly message: string } | null;
}

export interface RouteOptions {
  readonly mirror: Mirror;
  readonly config: ApiConfig;
  readonly scans: ScansRepository | undefined;
  readonly renderHtml: ((doc: ItemDoc) => string | Promise<string>) | undefined;
  /** The HTML 404 for a browser asking for an unknown item; JSON 404 without it. */
  readonly renderUnknownHtml?: (item: {
    readonly gtin: string;
    readonly lot?: string;
    readonly serial?: string;
  }) => string;
  readonly acceptUpload: AcceptUpload | undefined;
  readonly indexerStatus: (() => IndexerHealth) | undefined;
  /** The brands' signed link sets for the resolver's linkset and redirects; NO_BRAND_LINKS when absent. */
  readonly links?: BrandLinkSource;
}
