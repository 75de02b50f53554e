import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { cli } from "./cli-harness";

const CSV = "gtin,serial,lot\n09506000134352,SN/0001,L42\n09506000134352,SN0002,\n";

function decodePng(file: string): string | undefined {
  const png = PNG.sync.read(fs.readFileSync(file));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

describe("traceanchor qr", function () {
  let dir: string;
  let content: string;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-qr-"));
    fs.writeFileSync(path.join(dir, "items.csv"), CSV);
    const built = await cli(
      ["batch", "build", "--kind", "identity", "--input", "items.csv", "--out", "out", "--json"],
      {},
      dir,
    );
    expect(built.code, built.stderr).to.equal(0);
    content = built.json.content as string;
  });

  it("writes one PNG per item that a scanner decodes to the item's Digital Link", async function () {
    const result = await cli(
      ["qr", "--content", content, "--out", "png", "--format", "png", "--base", "https://id.acme.example", "--json"],
      {},
      dir,
    );
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json.count).to.equal(2);
    const files = fs
      .readdirSync(path.join(dir, "png"))
      .filter((f) => f.endsWith(".png"))
      .sort();
    expect(files).to.deep.equal(["09506000134352_L42_SN%2f0001.png", "09506000134352_SN0002.png"]);
    expect(decodePng(path.join(dir, "png", files[0]!))).to.equal(
      "https://id.acme.example/01/09506000134352/10/L42/21/SN%2F0001",
    );
    expect(decodePng(path.join(dir, "png", files[1]!))).to.equal("https://id.acme.example/01/09506000134352/21/SN0002");
  });

  it("writes SVGs and an A4 sheet holding every code with its label", async function () {
    const result = await cli(
      ["qr", "--content", content, "--out", "svg", "--json"],
      { TRACE_RESOLVER_BASE: "https://id.example.org" },
      dir,
    );
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json.base).to.equal("https://id.example.org");
    const sheet = fs.readFileSync(path.join(dir, "svg", "sheet.html"), "utf8");
    expect(sheet).to.include("@page { size: A4");
    expect(sheet.match(/<svg/g)).to.have.length(2);
    expect(sheet).to.include("09506000134352 · L42 · SN/0001");
  });

  it("refuses a missing content file with one clear line", async function () {
    const missing = await cli(["qr", "--content", "nope.ndjson", "--out", "x"], {}, dir);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^error: no content file at .*nope\.ndjson\n$/);
  });
});
