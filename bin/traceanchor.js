#!/usr/bin/env node
"use strict";
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs), which starts in a
// fraction of the time ts-node needs; falls back to the TypeScript sources when there is no build
// or a source file changed after it.
const path = require("node:path");
const { buildIsFresh, root } = require("./build-fresh");

const compiled = path.join(root, "dist", "scripts", "cli.js");

if (process.env.TRACE_CLI_FROM_SOURCE !== "1" && buildIsFresh(compiled)) {
  require(compiled).main();
} else {
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  require(path.join(root, "scripts", "cli.ts")).main();
}
