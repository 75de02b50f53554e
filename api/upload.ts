/**
 * The contract between the upload route and whoever writes content into the mirror. The API's own
 * handle is read-only, so `traceanchor serve` injects `acceptUpload` bound to a writable mirror
 * store (either engine) and the content directory (mirror/write/upload.ts); tests may inject a fake.
 *
 * Every failed outcome has a code, and UPLOAD_STATUS maps each code to its HTTP status: the route
 * never reads a reason to decide.
 */
import type { Readable } from "node:stream";
import type { RecordKind } from "../core/record";
import type { MirrorStore } from "../mirror/store";
import { acceptUpload, type UploadCode, type UploadOutcome } from "../mirror/write/upload";

export type { UploadCode, UploadOutcome } from "../mirror/write/upload";

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

export type AcceptUpload = (args: AcceptUploadArgs) => Promise<UploadOutcome>;

/** The HTTP status of each failed upload outcome (docs/operations.md, "Content uploads"). */
export const UPLOAD_STATUS: Readonly<Record<UploadCode, number>> = {
  /** The mirror has no such anchor (yet): the CLI retries while the indexer catches up. */
  UNKNOWN_ANCHOR: 404,
  TOO_LARGE: 413,
  /** The batch is larger than one mirror can store: a limit of this server, not of the request. */
  UNSTORABLE: 507,
  /** The content is not what was anchored. */
  MISMATCH: 422,
  /** A reorg removed or replaced the anchor during the check: the request conflicts with the chain as it is now. */
  ANCHOR_CHANGED: 409,
  /** The body broke off before its end. */
  INCOMPLETE_BODY: 400,
};

/**
 * `acceptUpload` over a WRITABLE mirror store: what `traceanchor serve` injects. It checks against
 * the anchor row, never the upload's header.
 */
export function createIngestUpload(options: {
  readonly store: MirrorStore;
  readonly contentDir: string;
  readonly maxLineLength?: number;
}): AcceptUpload {
  return ({ anchor, stream, maxBytes }) =>
    acceptUpload({
      store: options.store,
      contentDir: options.contentDir,
      anchor: { brandId: Number(anchor.brandId), root: anchor.root },
      stream,
      maxBytes,
      ...(options.maxLineLength === undefined ? {} : { maxLineLength: options.maxLineLength }),
    });
}
