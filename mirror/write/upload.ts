/**
 * Accepting an uploaded content file (`PUT /v1/batches/{brandId}/{root}/content`): the same check
 * and store as the indexer's ingester (core's checkContentStream, storeContent), plus keeping the
 * checked file as `<contentDir>/<root>.ndjson` so that it can be served and re-ingested.
 *
 *   acceptUpload({ store, contentDir, anchor, stream, maxBytes, maxLineLength? }): Promise<UploadOutcome>
 *
 * Unlike the ingester, a failed upload changes nothing: whoever sends wrong content does not get to
 * mark the anchor 'mismatch'. Every outcome has a code (UPLOAD_CODES); the API maps codes to HTTP
 * statuses with a table, never by reading the reason.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { MirrorStore } from "../store";
import { createContentStore, storeContent, type AnchorKey, type ContentCheckCode } from "./content";

export const UPLOAD_CODES = [
  /** No such anchor in the mirror (not indexed yet, or removed by a reorg). */
  "UNKNOWN_ANCHOR",
  /** More than maxBytes arrived. */
  "TOO_LARGE",
  /** The content is not what was anchored (`check` says which check failed). */
  "MISMATCH",
  /** The anchor was removed or replaced (a reorg) while the upload was checked. */
  "ANCHOR_CHANGED",
  /** The batch has more leaves than the mirror can store in one tree value. */
  "UNSTORABLE",
  /** The request body failed before its end (the client went away). */
  "INCOMPLETE_BODY",
] as const;

export type UploadCode = (typeof UPLOAD_CODES)[number];

export type UploadOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: Exclude<UploadCode, "MISMATCH">; readonly reason: string }
  | {
      readonly ok: false;
      readonly code: "MISMATCH";
      readonly check: ContentCheckCode | "KIND";
      readonly reason: string;
    };

export interface AcceptUploadOptions {
  /** A WRITABLE mirror, either engine. */
  readonly store: MirrorStore;
  readonly contentDir: string;
  readonly anchor: AnchorKey;
  readonly stream: NodeJS.ReadableStream;
  /** Largest upload accepted, in bytes. */
  readonly maxBytes: number;
  readonly maxLineLength?: number;
}

/**
 * Streams to a temp file in contentDir, checks it against the anchor row, renames it to
 * `<root>.ndjson`, then stores it. On any failure the temp file is deleted and nothing changes. The
 * rename comes before the commit, so a crash between the two leaves a correct file for the
 * ingester to pick up.
 */
export async function acceptUpload(options: AcceptUploadOptions): Promise<UploadOutcome> {
  const { contentDir, stream, maxBytes } = options;
  const store = createContentStore(options.store);
  const anchor = await store.anchor(options.anchor);
  if (anchor === undefined) {
    destroy(stream);
    return {
      ok: false,
      code: "UNKNOWN_ANCHOR",
      reason: `no anchor ${options.anchor.root} for brand ${String(options.anchor.brandId)} is indexed`,
    };
  }
  await mkdir(contentDir, { recursive: true });
  const root = anchor.root.toLowerCase();
  const temp = path.join(contentDir, `.upload-${root}-${randomBytes(6).toString("hex")}.tmp`);
  try {
    const written = await writeCapped(stream, temp, maxBytes);
    if (written === "too-large")
      return { ok: false, code: "TOO_LARGE", reason: `content is larger than the ${maxBytes}-byte limit` };
    if (written !== "ok")
      return { ok: false, code: "INCOMPLETE_BODY", reason: `the upload ended early: ${written.failed}` };
    const outcome = await storeContent(store, anchor, createReadStream(temp), {
      ...(options.maxLineLength === undefined ? {} : { maxLineLength: options.maxLineLength }),
      beforeCommit: () => rename(temp, path.join(contentDir, `${root}.ndjson`)),
    });
    if (outcome.ok) return { ok: true };
    if (outcome.code === "ANCHOR_CHANGED" || outcome.code === "UNSTORABLE")
      return { ok: false, code: outcome.code, reason: outcome.reason };
    return { ok: false, code: "MISMATCH", check: outcome.code, reason: outcome.reason };
  } finally {
    await rm(temp, { force: true });
  }
}

/** Streams to `file`: "too-large" (and nothing kept) when more than maxBytes arrive; the error when the stream fails. */
async function writeCapped(
  stream: NodeJS.ReadableStream,
  file: string,
  maxBytes: number,
): Promise<"ok" | "too-large" | { failed: string }> {
  const handle = await open(file, "wx");
  try {
    let total = 0;
    const chunks = stream[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<string | Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        // Only the request's own failure; a failing disk write below is not the client's doing.
        return { failed: (err as Error).message };
      }
      if (next.done === true) break;
      const bytes = typeof next.value === "string" ? Buffer.from(next.value, "utf8") : next.value;
      total += bytes.byteLength;
      if (total > maxBytes) {
        // Stop reading; destroying a request that was read to its end would take the socket (and the answer) with it.
        destroy(stream);
        return "too-large";
      }
      await handle.write(bytes);
    }
    await handle.sync();
    return "ok";
  } finally {
    await handle.close();
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
