/**
 * Builds the scan page's browser script from api/scan-page/client.ts with esbuild, once per process,
 * with the browser Keccak backend (@noble/hashes) in place of the WebAssembly one Node uses. The
 * script is minified, compressed once here (Brotli and gzip at their best settings, so no request
 * pays for it) and named by its content hash, so it can be cached for good.
 *
 *   scanScript(): Promise<ScriptAsset>          the process's script, built on first call
 *   builtScanScript(): ScriptAsset | undefined  the same once built, for synchronous renderers
 *   buildScanScript(options): Promise<ScriptAsset>
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import type { Plugin } from "esbuild";

export interface ScriptAsset {
  /** The minified script. */
  readonly body: string;
  readonly etag: string;
  /** Named by its content: `/assets/scan.<16 hex digits>.js`. */
  readonly url: string;
  /** The body compressed, for clients that accept it. */
  readonly br: Buffer;
  readonly gzip: Buffer;
}

export interface ScanScriptOptions {
  /**
   * How the script reads the chain: "batch" (the default: the reads of one turn as one JSON-RPC
   * batch, CORS-simple), or "single": every read its own application/json request, as the page did
   * before batching. Only the benchmark's baseline asks for "single".
   */
  readonly rpc?: "batch" | "single";
}

export const SCAN_SCRIPT_PREFIX = "/assets/scan.";

let cached: Promise<ScriptAsset> | undefined;
let built: ScriptAsset | undefined;

export function scanScript(): Promise<ScriptAsset> {
  cached ??= buildScanScript().then((asset) => (built = asset));
  return cached;
}

export function builtScanScript(): ScriptAsset | undefined {
  return built;
}

/** esbuild plugin: the browser has no WebAssembly Keccak backend; core's keccak falls back to @noble/hashes. */
export const browserKeccak: Plugin = {
  name: "browser-keccak",
  setup(b) {
    b.onResolve({ filter: /keccak-wasm(\.js|\.ts)?$/ }, () => ({ path: "keccak-wasm", namespace: "browser-stub" }));
    b.onLoad({ filter: /.*/, namespace: "browser-stub" }, () => ({
      contents: "export function createWasmKeccak(){throw new Error('no WebAssembly Keccak in the browser build')}",
      loader: "js",
    }));
  },
};

/** The page's chain reader with one request per read: what the client imports, wrapped. */
const singleRequests: Plugin = {
  name: "single-rpc-requests",
  setup(b) {
    b.onResolve({ filter: /\/core\/chain-reader(\.js|\.ts)?$/ }, (args) =>
      /[/\\]client\.(ts|js)$/.test(args.importer)
        ? { path: "chain-reader", namespace: "single-rpc", pluginData: args.resolveDir }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "single-rpc" }, (args) => ({
      contents: [
        'import { createRpcChainReader as create } from "../../core/chain-reader";',
        'export * from "../../core/chain-reader";',
        'export function createRpcChainReader(url) { return create(url, { batch: false, contentType: "application/json" }); }',
      ].join("\n"),
      resolveDir: args.pluginData as string,
      loader: "js",
    }));
  },
};

export async function buildScanScript(options: ScanScriptOptions = {}): Promise<ScriptAsset> {
  const esbuild = await import("esbuild");
  const entry = path.join(__dirname, "client.ts");
  // From source (ts-node) the entry is client.ts; in the compiled dist/ it is client.js.
  const source = fs.existsSync(entry) ? entry : path.join(__dirname, "client.js");
  const result = await esbuild.build({
    entryPoints: [source],
    bundle: true,
    minify: true,
    format: "iife",
    platform: "browser",
    target: ["es2020"],
    write: false,
    legalComments: "none",
    plugins: options.rpc === "single" ? [browserKeccak, singleRequests] : [browserKeccak],
  });
  const body = result.outputFiles[0]?.text ?? "";
  const digest = createHash("sha256").update(body).digest();
  const bytes = Buffer.from(body);
  return {
    body,
    etag: `"${digest.toString("base64url").slice(0, 27)}"`,
    url: `${SCAN_SCRIPT_PREFIX}${digest.toString("hex").slice(0, 16)}.js`,
    br: zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }),
    gzip: zlib.gzipSync(bytes, { level: 9 }),
  };
}
