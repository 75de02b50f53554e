/**
 * scripts/build-stamp.js, run after tsc by `npm run build`: the compiled CLI must carry every
 * engine's SQL migrations (tsc copies none), or `serve` from dist/ fails on that engine only.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";

const ROOT = path.join(__dirname, "..", "..");

describe("scripts/build-stamp.js", function () {
  it("copies every migrations directory of mirror/ into dist/, and stamps the build", function () {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "build-stamp-"));
    try {
      fs.mkdirSync(path.join(root, "scripts"));
      fs.copyFileSync(path.join(ROOT, "scripts", "build-stamp.js"), path.join(root, "scripts", "build-stamp.js"));
      const sourceDirs = fs
        .readdirSync(path.join(ROOT, "mirror", "migrations"), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
      expect(sourceDirs).to.include.members(["sqlite", "postgres", "epcis-sqlite"]);
      fs.cpSync(path.join(ROOT, "mirror", "migrations"), path.join(root, "mirror", "migrations"), { recursive: true });
      fs.cpSync(path.join(ROOT, "core", "schemas"), path.join(root, "core", "schemas"), { recursive: true });
      fs.mkdirSync(path.join(root, "dist", "core", "schemas"), { recursive: true });
      execFileSync(process.execPath, [path.join(root, "scripts", "build-stamp.js")]);
      for (const dir of sourceDirs) {
        const sql = (base: string) =>
          fs
            .readdirSync(path.join(base, dir))
            .filter((f) => f.endsWith(".sql"))
            .sort();
        expect(sql(path.join(root, "dist", "mirror", "migrations")), dir).to.deep.equal(
          sql(path.join(ROOT, "mirror", "migrations")),
        );
      }
      expect(fs.existsSync(path.join(root, "dist", ".build-stamp"))).to.equal(true);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
