/**
 * Where the indexer finds a batch's content file.
 *
 *   createContentSource(options): ContentSource
 *   source.open(anchor) → a byte stream, or undefined when the content is not there (yet)
 *
 * Lookup order: `<contentDir>/<root>.ndjson` (lowercase root), then the anchor's contentURI:
 * - a bare file name or relative path: resolved inside contentDir only (no `..` or symlink escapes);
 * - a `file:` URL or an absolute path;
 * - `http://` / `https://`: streamed, with `maxBytes` and an idle `timeoutMs`.
 *
 * Outcomes are kept apart because the ingester treats them differently:
 * - `undefined`: not there yet (ENOENT, HTTP 404/410): try again later;
 * - `ContentUnavailableError` (retryable): an outage (5xx, 429, timeout, reset, I/O error), also
 *   when it happens mid-stream: try again later, never a verdict on the content;
 * - `ContentRefusedError`: we will not read it as addressed (path escape, unsupported scheme, not a
 *   regular file, larger than maxBytes, other HTTP 4xx).
 * Whether the bytes are the right content is the ingester's business, not the source's.
 */
import fs from "node:fs";
import { open, realpath } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { IndexerError, RetryableError } from "./errors";

export interface ContentLocator {
  readonly brandId: number | bigint | string;
  readonly root: string;
  readonly contentUri: string;
}

export interface ContentSource {
  /** The content's bytes, or undefined when it is not available yet. */
  open(anchor: ContentLocator): Promise<NodeJS.ReadableStream | undefined>;
}

export interface ContentSourceOptions {
  /** Directory of `<root>.ndjson` files; relative contentURIs resolve inside it. */
  readonly contentDir: string;
  /** Injected for tests; default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Largest content accepted, in bytes. */
  readonly maxBytes: number;
  /** HTTP: longest wait for the response headers and between two body chunks. */
  readonly timeoutMs: number;
}

/** The content could not be read now; reading it again later may work. */
export class ContentUnavailableError extends RetryableError {
  readonly where: string;

  constructor(where: string, message: string, options?: ErrorOptions) {
    super("CONTENT_UNAVAILABLE", `${where}: ${message}`, options);
    this.where = where;
  }
}

/** The content will not be read from where it is addressed, as configured. */
export class ContentRefusedError extends IndexerError {
  readonly where: string;

  constructor(where: string, message: string, options?: ErrorOptions) {
    super("CONTENT_REFUSED", `${where}: ${message}`, options);
    this.where = where;
  }
}

const ROOT = /^0x[0-9a-fA-F]{64}$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const NOT_FOUND_CODES = new Set(["ENOENT", "ENOTDIR"]);
const REFUSED_CODES = new Set(["EACCES", "EPERM", "EISDIR", "ELOOP", "ENAMETOOLONG"]);
const RETRY_STATUS = new Set([408, 425, 429]);

export function createContentSource(options: ContentSourceOptions): ContentSource {
  const contentDir = path.resolve(options.contentDir);
  const fetchImpl = options.fetch ?? fetch;
  const { maxBytes, timeoutMs } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError(`timeoutMs must be a positive integer, got ${timeoutMs}`);

  async function openFile(file: string, where: string): Promise<Readable | undefined> {
    let handle: fs.promises.FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO must not hang; regular files ignore the flag.
      handle = await open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      const code = errorCode(err);
      if (code !== undefined && NOT_FOUND_CODES.has(code)) return undefined;
      if (code !== undefined && REFUSED_CODES.has(code))
        throw new ContentRefusedError(where, `cannot open (${code})`, { cause: err });
      throw new ContentUnavailableError(where, `cannot open: ${(err as Error).message}`, { cause: err });
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new ContentRefusedError(where, "not a regular file");
      if (stat.size > maxBytes)
        throw new ContentRefusedError(where, `content is ${stat.size} bytes, larger than the ${maxBytes}-byte limit`);
    } catch (err) {
      await handle.close();
      if (err instanceof IndexerError) throw err;
      throw new ContentUnavailableError(where, `cannot stat: ${(err as Error).message}`, { cause: err });
    }
    return handle.createReadStream();
  }

  /** A path from a relative contentURI, refused unless it stays inside contentDir, also after symlinks. */
  async function openInside(relative: string, where: string): Promise<Readable | undefined> {
    const resolved = path.resolve(contentDir, relative);
    const rel = path.relative(contentDir, resolved);
    if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) {
      throw new ContentRefusedError(where, "contentURI escapes the content directory");
    }
    let real: string;
    let realDir: string;
    try {
      [real, realDir] = await Promise.all([realpath(resolved), realpath(contentDir)]);
    } catch (err) {
      const code = errorCode(err);
      if (code !== undefined && NOT_FOUND_CODES.has(code)) return undefined;
      if (code !== undefined && REFUSED_CODES.has(code))
        throw new ContentRefusedError(where, `cannot resolve (${code})`, { cause: err });
      throw new ContentUnavailableError(where, `cannot resolve: ${(err as Error).message}`, { cause: err });
    }
    const realRel = path.relative(realDir, real);
    if (realRel === "" || realRel.startsWith("..") || path.isAbsolute(realRel)) {
      throw new ContentRefusedError(where, "contentURI escapes the content directory through a link");
    }
    return openFile(real, where);
  }

  async function openHttp(url: string): Promise<Readable | undefined> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = (what: string): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => controller.abort(new ContentUnavailableError(url, `timed out after ${timeoutMs} ms ${what}`)),
        timeoutMs,
      );
    };
    const failure = (err: unknown, what: string): IndexerError => {
      if (controller.signal.aborted && controller.signal.reason instanceof IndexerError)
        return controller.signal.reason;
      if (err instanceof IndexerError) return err;
      return new ContentUnavailableError(url, `${what}: ${(err as Error).message}`, { cause: err });
    };

    arm("waiting for the response");
    let response: Response;
    try {
      response = await fetchImpl(url, { signal: controller.signal, redirect: "follow" });
    } catch (err) {
      clearTimeout(timer);
      throw failure(err, "request failed");
    }
    clearTimeout(timer);
    const body = response.body;
    const discard = async (): Promise<void> => {
      clearTimeout(timer);
      // The body is unwanted; a failure to cancel it changes nothing for the caller.
      await body?.cancel().catch(() => undefined);
    };
    if (response.status === 404 || response.status === 410) {
      await discard();
      return undefined;
    }
    if (response.status >= 500 || RETRY_STATUS.has(response.status)) {
      await discard();
      throw new ContentUnavailableError(url, `HTTP ${response.status}`);
    }
    if (!response.ok) {
      await discard();
      throw new ContentRefusedError(url, `HTTP ${response.status}`);
    }
    const declared = Number.parseInt(response.headers.get("content-length") ?? "", 10);
    if (Number.isSafeInteger(declared) && declared > maxBytes) {
      await discard();
      throw new ContentRefusedError(url, `content is ${declared} bytes, larger than the ${maxBytes}-byte limit`);
    }
    if (body === null) {
      clearTimeout(timer);
      throw new ContentRefusedError(url, `HTTP ${response.status} without a body`);
    }

    async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Buffer> {
      const reader = stream.getReader();
      let total = 0;
      let finished = false;
      try {
        for (;;) {
          arm("waiting for the body");
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await reader.read();
          } catch (err) {
            throw failure(err, "body read failed");
          }
          // The timeout measures the source's silence, not the time the consumer takes.
          clearTimeout(timer);
          if (next.done) {
            finished = true;
            return;
          }
          total += next.value.byteLength;
          if (total > maxBytes) throw new ContentRefusedError(url, `content is larger than the ${maxBytes}-byte limit`);
          yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        }
      } finally {
        clearTimeout(timer);
        // Stopped early (error, or the consumer stopped reading): close the connection.
        if (!finished) await reader.cancel().catch(() => undefined);
      }
    }
    return Readable.from(chunks(body), { objectMode: false });
  }

  return {
    async open(anchor) {
      if (!ROOT.test(anchor.root)) throw new ContentRefusedError(anchor.root, "root is not 0x + 64 hex characters");
      const own = path.join(contentDir, `${anchor.root.toLowerCase()}.ndjson`);
      const local = await openFile(own, own);
      if (local !== undefined) return local;

      const uri = anchor.contentUri.trim();
      if (uri === "") return undefined;
      if (uri.includes("\0")) throw new ContentRefusedError(uri, "contentURI contains a NUL character");
      const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
      // One-letter "schemes" are Windows drive letters, i.e. absolute paths.
      if (scheme === undefined || (scheme.length === 1 && path.isAbsolute(uri))) {
        return path.isAbsolute(uri) ? openFile(uri, uri) : openInside(uri, uri);
      }
      if (scheme === "http" || scheme === "https") return openHttp(uri);
      if (scheme === "file") {
        let file: string;
        try {
          file = fileURLToPath(uri);
        } catch (err) {
          throw new ContentRefusedError(uri, `bad file URL: ${(err as Error).message}`, { cause: err });
        }
        return openFile(file, uri);
      }
      throw new ContentRefusedError(uri, `unsupported contentURI scheme ${scheme}:`);
    },
  };
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
