/**
 * Content ingestion: accepts a batch's content file only if it is exactly what the chain anchored,
 * then stores its records, item keys and Merkle tree. This file is the scheduling job (which
 * anchors are due, the retry queue with its doubling delay, what an outcome means for the anchor's
 * status); the other jobs live elsewhere, one place each:
 *
 * - fetching the content: ./fetch.ts over the content source (../content-source.ts);
 * - checking it: core's checkContentStream (core/content.ts), the one content checker;
 * - storing it: mirror/write/content.ts (staging, the commit transaction, content status).
 *
 *   createIngester({ store, source, log, config }): Ingester       store: the mirror, either engine
 *     ingestPending()           anchors 'pending' and due for retry, one batch of them, in chain order
 *     ingestOne(anchor)         one anchor, from its content source
 *     ingestStream(anchor, s)   one anchor, from the given stream
 *
 * Uploads go through mirror/write/upload.ts, which checks and stores the same way.
 *
 * Outcomes: 'ok'; 'mismatch' with a precise reason (final until someone uploads the right content);
 * or still 'pending' with the reason, when the content is not there yet, the source failed
 * (5xx, timeout), or the source was refused (path escape, too large): tried again after a delay
 * that doubles per attempt (content_attempts, content_retry_at).
 */
import type { MirrorStore } from "../../mirror/store";
import { createContentStore, storeContent, type AnchorKey, type ContentAnchor } from "../../mirror/write/content";
import { ContentRefusedError, ContentUnavailableError, type ContentSource } from "../content-source";
import type { Logger } from "../indexer";
import { chunksOf, destroy, fetchContent } from "./fetch";

export type { AnchorKey } from "../../mirror/write/content";

export interface IngesterConfig {
  /** Anchors per ingestPending() call. Default 10. */
  readonly batchSize?: number;
  /** Delay before the first retry of content that is not available; doubles per attempt. Default 60 000. */
  readonly retryDelayMs?: number;
  /** Longest retry delay. Default 3 600 000 (1 h). */
  readonly maxRetryDelayMs?: number;
  /** Longest content line, in characters. Default 16 Mi. */
  readonly maxLineLength?: number;
}

export interface CreateIngesterOptions {
  /** The mirror (SQLite or PostgreSQL), writable. */
  readonly store: MirrorStore;
  readonly source: ContentSource;
  readonly log: Logger;
  readonly config?: IngesterConfig;
  /** Clock for retry scheduling (unix ms). Default Date.now. */
  readonly now?: () => number;
}

export type IngestOutcome =
  | {
      readonly status: "ok";
      readonly records: number;
      /** true when it was 'ok' already: nothing done. */ readonly already: boolean;
    }
  | { readonly status: "mismatch"; readonly reason: string }
  | { readonly status: "pending"; readonly reason: string; readonly retryAt: number }
  /** No such anchor in the mirror (never seen, or removed by a reorg): nothing done. */
  | { readonly status: "absent" };

export interface IngestPendingResult {
  readonly ingested: number;
  readonly mismatched: number;
  /** Anchors tried by this call that are still pending. */
  readonly pending: number;
}

export interface Ingester {
  /** Up to batchSize anchors that are 'pending' and due, in chain order; call again for more. */
  ingestPending(): Promise<IngestPendingResult>;
  /** One anchor from its content source, whatever its retry time; a no-op when it is 'ok'. A 'mismatch' is checked again. */
  ingestOne(anchor: AnchorKey): Promise<IngestOutcome>;
  /** As ingestOne, from `stream` instead of the content source. */
  ingestStream(anchor: AnchorKey, stream: NodeJS.ReadableStream): Promise<IngestOutcome>;
}

export function createIngester(options: CreateIngesterOptions): Ingester {
  const { source, log } = options;
  const store = createContentStore(options.store);
  const now = options.now ?? Date.now;
  const batchSize = positive(options.config?.batchSize ?? 10, "batchSize");
  const retryDelayMs = nonNegative(options.config?.retryDelayMs ?? 60_000, "retryDelayMs");
  const maxRetryDelayMs = nonNegative(options.config?.maxRetryDelayMs ?? 3_600_000, "maxRetryDelayMs");
  const maxLineLength =
    options.config?.maxLineLength === undefined ? undefined : positive(options.config.maxLineLength, "maxLineLength");

  function retryAt(attempts: number): number {
    const delay = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.min(attempts, 40));
    return now() + delay;
  }

  async function pending(anchor: ContentAnchor, reason: string): Promise<IngestOutcome> {
    const at = retryAt(anchor.attempts);
    await store.markPending(anchor, reason, at);
    log.info(
      { brandId: String(anchor.brandId), root: anchor.root, reason, attempts: anchor.attempts + 1, retryAt: at },
      "content not ingested yet",
    );
    return { status: "pending", reason, retryAt: at };
  }

  /** Source problems keep the anchor pending; anything else (a bug, a database error) propagates. */
  function sourceFailure(anchor: ContentAnchor, err: unknown): Promise<IngestOutcome> {
    if (err instanceof ContentUnavailableError) return pending(anchor, `unavailable: ${err.message}`);
    if (err instanceof ContentRefusedError) return pending(anchor, `refused: ${err.message}`);
    throw err;
  }

  async function ingestStream(anchor: ContentAnchor, stream: NodeJS.ReadableStream): Promise<IngestOutcome> {
    let outcome;
    try {
      outcome = await storeContent(
        store,
        anchor,
        chunksOf(stream, anchor.contentUri || anchor.root),
        maxLineLength === undefined ? {} : { maxLineLength },
      );
    } catch (err) {
      return sourceFailure(anchor, err);
    } finally {
      // Also when the store refused before reading (KIND, UNSTORABLE) or the check stopped early.
      destroy(stream);
    }
    if (!outcome.ok) {
      switch (outcome.code) {
        case "ANCHOR_CHANGED":
          return { status: "absent" };
        case "UNSTORABLE":
          // Not the content's fault, so not a mismatch: it stays pending, with the reason.
          return pending(anchor, `refused: ${anchor.root.toLowerCase()}: ${outcome.reason}`);
        default:
          await store.markMismatch(anchor, outcome.reason);
          log.warn(
            { brandId: String(anchor.brandId), root: anchor.root, reason: outcome.reason },
            "content does not match its anchor",
          );
          return { status: "mismatch", reason: outcome.reason };
      }
    }
    if (outcome.skippedIdentifiers > 0) {
      log.warn(
        { brandId: String(anchor.brandId), root: anchor.root, skippedIdentifiers: outcome.skippedIdentifiers },
        "some EPCIS identifiers could not be decoded; their records are stored without those item keys",
      );
    }
    const already = outcome.result === "already";
    log.info(
      {
        brandId: String(anchor.brandId),
        root: anchor.root,
        records: outcome.records,
        stageMs: outcome.stageMs,
        commitMs: outcome.commitMs,
        already,
      },
      "content ingested",
    );
    return { status: "ok", records: outcome.records, already };
  }

  async function ingestAnchor(anchor: ContentAnchor): Promise<IngestOutcome> {
    if (anchor.status === "ok") return { status: "ok", records: anchor.leafCount, already: true };
    let stream: NodeJS.ReadableStream | undefined;
    try {
      stream = await fetchContent(source, anchor);
    } catch (err) {
      return sourceFailure(anchor, err);
    }
    if (stream === undefined) {
      const uri = anchor.contentUri.trim() === "" ? "a contentURI (none given)" : `contentURI ${anchor.contentUri}`;
      return pending(
        anchor,
        `not found: neither ${anchor.root.toLowerCase()}.ndjson in the content directory nor ${uri}`,
      );
    }
    return ingestStream(anchor, stream);
  }

  return {
    async ingestPending() {
      const due = await store.due(now(), batchSize);
      let ingested = 0;
      let mismatched = 0;
      let stillPending = 0;
      for (const anchor of due) {
        const outcome = await ingestAnchor(anchor);
        if (outcome.status === "ok" && !outcome.already) ingested++;
        else if (outcome.status === "mismatch") mismatched++;
        else if (outcome.status === "pending") stillPending++;
      }
      return { ingested, mismatched, pending: stillPending };
    },
    async ingestOne(key) {
      const anchor = await store.anchor(key);
      return anchor === undefined ? { status: "absent" } : ingestAnchor(anchor);
    },
    async ingestStream(key, stream) {
      const anchor = await store.anchor(key);
      if (anchor === undefined || anchor.status === "ok") {
        destroy(stream);
        return anchor === undefined ? { status: "absent" } : { status: "ok", records: anchor.leafCount, already: true };
      }
      return ingestStream(anchor, stream);
    },
  };
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}
