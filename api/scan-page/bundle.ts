/**
 * Builds the scan page's browser script from api/scan-page/client.ts with esbuild, once per process,
 * with the browser Keccak backend (@noble/hashes) in place of the WebAssembly one Node uses.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface ScriptAsset {
  readonly body: string;
  readonly etag: string;
}

let cached: Promise<ScriptAsset> | undefined;

export function scanScript(): Promise<ScriptAsset> {
  cached ??= build();
  return cached;
}

async function build(): Promise<ScriptAsset> {
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
    plugins: [
      {
        name: "browser-keccak",
        setup(b) {
          b.onResolve({ filter: /keccak-wasm(\.js|\.ts)?$/ }, () => ({ path: "keccak-wasm", namespace: "browser-stub" }));
          b.onLoad({ filter: /.*/, namespace: "browser-stub" }, () => ({
            contents: "export function createWasmKeccak(){throw new Error('no WebAssembly Keccak in the browser build')}",
            loader: "js",
          }));
        },
      },
    ],
  });
  const body = result.outputFiles[0]?.text ?? "";
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
}
