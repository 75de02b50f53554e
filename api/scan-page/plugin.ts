/**
 * Serves the scan page's browser script and builds the default HTML renderer for the Digital Link
 * route. The script is built once (esbuild) and served under its content hash
 * (/assets/scan.<hash>.js, cached for a year, immutable), which the page names; /assets/scan.js
 * serves the same bytes with a short cache for pages rendered before. Both with a strong ETag, and
 * precompressed (Brotli or gzip, as the client accepts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import negotiate from "@fastify/accept-negotiator";
import type {} from "@fastify/compress";
import type { ItemDoc } from "../documents";
import { builtScanScript, SCAN_SCRIPT_PREFIX, scanScript, type ScriptAsset } from "./bundle";
import { renderScanPage } from "./render";

export const SCAN_SCRIPT_PATH = "/assets/scan.js";

export interface ScanPageOptions {
  /** JSON-RPC URLs browsers read the chain through, all of them (TRACE_BROWSER_RPC_URLS); none: hashes and proofs only. */
  readonly rpcUrls: readonly string[];
  /** TRACE_SCAN_THRESHOLD, so the phone decides "suspicious" as the server does (default: the verifier's, 50). */
  readonly scanThreshold?: number;
  /** The contract the page vouches for: the mirror's. */
  readonly contract: () => string | undefined | Promise<string | undefined>;
}

/** `script`: the asset the page loads; default the process's scan script (`scanAssets` builds it at start). */
export function scanPageRenderer(options: ScanPageOptions, script?: ScriptAsset): (doc: ItemDoc) => Promise<string> {
  const { rpcUrls } = options;
  return async (doc) => {
    const contract = await options.contract();
    return renderScanPage(doc, {
      scriptUrl: (script ?? builtScanScript())?.url ?? SCAN_SCRIPT_PATH,
      bundleBase: "/v1/proofs",
      rpcUrls,
      ...(options.scanThreshold === undefined ? {} : { scanThreshold: options.scanThreshold }),
      ...(contract ? { contract } : {}),
    });
  };
}

export const IMMUTABLE = "public, max-age=31536000, immutable";
const SHORT = "public, max-age=3600";

/** The script's bytes as the client accepts them; the compressed ones are made once, at build. */
export function sendScript(
  request: FastifyRequest,
  reply: FastifyReply,
  asset: ScriptAsset,
  cacheControl: string,
): FastifyReply {
  void reply.header("etag", asset.etag).header("cache-control", cacheControl).header("vary", "accept-encoding");
  if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
  void reply.type("text/javascript; charset=utf-8");
  const encoding = negotiate(request.headers["accept-encoding"] ?? "", ["br", "gzip", "identity"]);
  if (encoding === "br" || encoding === "gzip") return reply.header("content-encoding", encoding).send(asset[encoding]);
  return reply.send(asset.body);
}

export const scanAssets: FastifyPluginAsync = async (app) => {
  // Build at start, so the first phone that scans does not wait for esbuild.
  const asset = await scanScript();
  const noCompress = { compress: false as const };
  app.get(asset.url, { schema: { hide: true }, ...noCompress }, (request, reply) =>
    sendScript(request, reply, asset, IMMUTABLE),
  );
  app.get(SCAN_SCRIPT_PATH, { schema: { hide: true }, ...noCompress }, (request, reply) =>
    sendScript(request, reply, asset, SHORT),
  );
  // A page cached from before a deploy names the old hash: send it to the current script.
  app.get(`${SCAN_SCRIPT_PREFIX}:hash`, { schema: { hide: true } }, (_request, reply) =>
    reply.code(302).header("cache-control", "no-cache").header("location", asset.url).send(),
  );
};
