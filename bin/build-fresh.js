"use strict";
// Whether dist/ (built by `npm run build`) is newer than every TypeScript source and SQL migration it
// was built from. Shared by bin/traceanchor.js and the benchmarks that run compiled code.
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const stamp = path.join(root, "dist", ".build-stamp");
// What tsconfig.build.json compiles.
const SOURCES = ["scripts", "core", "mirror", "indexer", "api", "bench/api-server.ts"];

function newerSource(dir, since) {
  if (!fs.statSync(dir).isDirectory()) return fs.statSync(dir).mtimeMs > since;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (newerSource(file, since)) return true;
    } else if ((entry.name.endsWith(".ts") || entry.name.endsWith(".sql")) && fs.statSync(file).mtimeMs > since) {
      return true;
    }
  }
  return false;
}

/** True when `compiled` and the build stamp exist and no source changed after the build. */
function buildIsFresh(compiled) {
  if (!fs.existsSync(compiled) || !fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  return !SOURCES.some((d) => fs.existsSync(path.join(root, d)) && newerSource(path.join(root, d), built));
}

module.exports = { buildIsFresh, root };
