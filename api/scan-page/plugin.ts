/**
 * Serves the scan page's browser script at /assets/scan.js and builds the default HTML renderer for
 * the Digital Link route. The script is built once (esbuild) and cached with a strong ETag.
 */
import type { FastifyPluginAsync } from "fastify";
import type { ItemDoc } from "../documents";
import { scanScript } from "./bundle";
import { renderScanPage } from "./render";

export const SCAN_SCRIPT_PATH = "/assets/scan.js";

export interface ScanPageOptions {
  /** JSON-RPC URLs browsers read the chain through, all of them (TRACE_BROWSER_RPC_URLS); none: hashes and proofs only. */
  readonly rpcUrls: readonly string[];
  /** TRACE_SCAN_THRESHOLD, so the phone decides "suspicious" as the server does (default: the verifier's, 50). */
  readonly scanThreshold?: number;
  /** The contract the page vouches for: the mirror's. */
  readonly contract: () => string | undefined;
}

export function scanPageRenderer(options: ScanPageOptions): (doc: ItemDoc) => string {
  const { rpcUrls } = options;
  return (doc) => {
    const contract = options.contract();
    return renderScanPage(doc, {
      scriptUrl: SCAN_SCRIPT_PATH,
      bundleBase: "/v1/proofs",
      rpcUrls,
      ...(options.scanThreshold === undefined ? {} : { scanThreshold: options.scanThreshold }),
      ...(contract ? { contract } : {}),
    });
  };
}

export const scanAssets: FastifyPluginAsync = async (app) => {
  // Build at start, so the first phone that scans does not wait for esbuild.
  const asset = await scanScript();
  app.get(SCAN_SCRIPT_PATH, { schema: { hide: true } }, async (request, reply) => {
    void reply.header("etag", asset.etag).header("cache-control", "public, max-age=3600");
    if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
    return reply.type("text/javascript; charset=utf-8").send(asset.body);
  });
};
