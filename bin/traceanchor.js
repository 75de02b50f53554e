#!/usr/bin/env node
"use strict";
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs), which starts in a
// fraction of the time ts-node needs; falls back to the TypeScript sources when there is no build
// or a source file changed after it.
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const compiled = path.join(root, "dist", "scripts", "cli.js");
const stamp = path.join(root, "dist", ".build-stamp");

function newestSource(dir, since) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (newestSource(file, since)) return true;
    } else if ((entry.name.endsWith(".ts") || entry.name.endsWith(".sql")) && fs.statSync(file).mtimeMs > since) {
      return true;
    }
  }
  return false;
}

function buildIsFresh() {
  if (process.env.TRACE_CLI_FROM_SOURCE === "1" || !fs.existsSync(compiled) || !fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  return !["scripts", "core", "indexer", "api"].some((d) => fs.existsSync(path.join(root, d)) && newestSource(path.join(root, d), built));
}

if (buildIsFresh()) {
  require(compiled).main();
} else {
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  require(path.join(root, "scripts", "cli.ts")).main();
}
