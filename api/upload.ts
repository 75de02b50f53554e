/**
 * The contract between the upload route and whoever writes content into the mirror. The API's own
 * handle is read-only, so `traceanchor serve` injects `acceptUpload` bound to a writable handle and
 * the content directory (indexer/ingest.ts); tests inject a fake.
 */
import type { Readable } from "node:stream";
import type { RecordKind } from "../core/record";
import type { Db } from "../mirror/db";
import { acceptUpload } from "../indexer/ingest";

export interface UploadAnchor {
  readonly brandId: string;
  readonly root: string;
  readonly kind: RecordKind;
  readonly leafCount: number;
  readonly contentUri: string;
}

export interface AcceptUploadArgs {
  readonly anchor: UploadAnchor;
  /** The request body, streamed; at most `maxBytes` may be read from it. */
  readonly stream: Readable;
  readonly maxBytes: number;
}

export type AcceptUploadResult =
  | { readonly ok: true }
  /** `TOO_LARGE` maps to 413, `UNKNOWN_ANCHOR` to 404, every other code to 422, with `reason` as the message. */
  | { readonly ok: false; readonly code: string; readonly reason: string };

export type AcceptUpload = (args: AcceptUploadArgs) => Promise<AcceptUploadResult>;

/**
 * `acceptUpload` over the indexer's ingester (indexer/ingest.ts) and a WRITABLE mirror handle: what
 * `traceanchor serve` injects. The ingester checks against the anchor row, never the upload's header.
 */
export function createIngestUpload(options: { readonly db: Db; readonly contentDir: string; readonly maxLineLength?: number }): AcceptUpload {
  return async ({ anchor, stream, maxBytes }) => {
    const result = await acceptUpload({
      db: options.db,
      contentDir: options.contentDir,
      anchor: { brandId: Number(anchor.brandId), root: anchor.root },
      stream,
      maxBytes,
      ...(options.maxLineLength === undefined ? {} : { maxLineLength: options.maxLineLength }),
    });
    if (result.ok) return { ok: true };
    const code = /larger than the \d+-byte limit/.test(result.reason) ? "TOO_LARGE" : /^no anchor /.test(result.reason) ? "UNKNOWN_ANCHOR" : "CONTENT_MISMATCH";
    return { ok: false, code, reason: result.reason };
  };
}
