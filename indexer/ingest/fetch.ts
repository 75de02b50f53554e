/**
 * The content-fetch job of ingestion: opens an anchor's content from the content source and turns
 * the stream's own failures into ContentUnavailableError (try again later), so that a source that
 * breaks off never looks like content that does not match.
 *
 *   fetchContent(source, anchor): Promise<NodeJS.ReadableStream | undefined>   undefined: not there (yet)
 *   chunksOf(stream, where): AsyncIterable<Buffer>
 */
import type { ContentAnchor } from "../../mirror/write/content";
import { ContentUnavailableError, type ContentSource } from "../content-source";
import { IndexerError } from "../errors";

/** The anchor's content stream (read it through chunksOf), or undefined when it is not there (yet). */
export function fetchContent(source: ContentSource, anchor: ContentAnchor): Promise<NodeJS.ReadableStream | undefined> {
  return source.open({ brandId: anchor.brandId, root: anchor.root, contentUri: anchor.contentUri });
}

/**
 * The stream's chunks as Buffers. A failure of the stream itself becomes ContentUnavailableError,
 * unless the source already classified it; stopping early destroys the stream.
 */
export async function* chunksOf(stream: NodeJS.ReadableStream, where: string): AsyncGenerator<Buffer> {
  const iterator = stream[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let next: IteratorResult<string | Buffer>;
      try {
        next = await iterator.next();
      } catch (err) {
        done = true;
        if (err instanceof IndexerError) throw err;
        throw new ContentUnavailableError(where, `reading failed: ${(err as Error).message}`, { cause: err });
      }
      if (next.done === true) {
        done = true;
        return;
      }
      yield typeof next.value === "string" ? Buffer.from(next.value, "utf8") : next.value;
    }
  } finally {
    if (!done) {
      destroy(stream);
      await iterator.return?.();
    }
  }
}

export function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
