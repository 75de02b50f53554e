#!/usr/bin/env node
"use strict";
// After `tsc -p tsconfig.build.json`: copies what tsc does not (the SQL migrations of every engine) into dist/ and
// stamps the build, so bin/traceanchor.js knows the build is newer than the sources.
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
// Every engine's migrations (sqlite/, postgres/, epcis-sqlite/): a build without one of them starts
// fine on the others and fails on its engine only.
const migrations = path.join(root, "mirror", "migrations");
for (const dir of fs.readdirSync(migrations, { withFileTypes: true })) {
  if (!dir.isDirectory()) continue;
  const from = path.join(migrations, dir.name);
  const to = path.join(root, "dist", "mirror", "migrations", dir.name);
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const file of fs.readdirSync(from))
    if (file.endsWith(".sql")) fs.copyFileSync(path.join(from, file), path.join(to, file));
}
// GS1's schema is compiled in (tsc copies the JSON it imports); its terms of use go with it.
for (const file of ["DISCLAIMER", "README.md"]) {
  fs.copyFileSync(path.join(root, "core", "schemas", file), path.join(root, "dist", "core", "schemas", file));
}
fs.writeFileSync(path.join(root, "dist", ".build-stamp"), new Date().toISOString());
