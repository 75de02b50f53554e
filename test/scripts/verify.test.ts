import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { epcisDocument } from "../../core/epcis";
import { describeEngines } from "../helpers/engines";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { cli } from "./cli-harness";
import { startRpcServer, type RpcServer } from "./rpc";

const GTIN = "09506000134352";
const CSV = `gtin,serial,lot\n${GTIN},SN1,L1\n${GTIN},SN2,L1\n`;
const LATER_CSV = `gtin,serial,lot\n${GTIN},SN7,L1\n`;
const EVENTS = JSON.stringify(
  epcisDocument(
    [
      {
        type: "ObjectEvent",
        eventTime: "2026-11-01T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "commissioning",
        quantityList: [{ epcClass: "urn:epc:class:lgtin:9506000.013435.L1", quantity: 2 }],
      },
    ],
    "2026-11-01T00:00:00Z",
  ),
);

describeEngines("traceanchor verify", function (engine) {
  this.timeout(120_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let base: string;
  let close: () => Promise<void>;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url, engine);
    fs.writeFileSync(path.join(system.dir, "items.csv"), CSV);
    fs.writeFileSync(path.join(system.dir, "later.csv"), LATER_CSV);
    fs.writeFileSync(path.join(system.dir, "events.json"), EVENTS);
    for (const [kind, input] of [
      ["identity", "items.csv"],
      ["trace", "events.json"],
      ["identity", "later.csv"],
    ]) {
      expect(
        (await system.as(2, ["batch", "submit", "--brand", "1", "--kind", kind!, "--input", input!])).code,
      ).to.equal(0);
    }
    await system.index();
    const db = await system.readStore();
    const app = await buildApp({
      db,
      config: apiConfig({ port: 0, rateLimit: 0, scans: false }),
      renderHtml: null,
      processMetrics: false,
    });
    base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace(/\/$/, "");
    close = async () => {
      await app.close();
      await db.close();
    };
  });

  after(async function () {
    await close?.();
    await system?.close();
    await rpc?.close();
  });

  async function documentOf(serial: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${base}/01/${GTIN}/10/L1/21/${serial}`, { headers: { accept: "application/json" } });
    expect(response.status).to.equal(200);
    return (await response.json()) as Record<string, unknown>;
  }

  function save(name: string, doc: unknown): string {
    fs.writeFileSync(path.join(system.dir, name), JSON.stringify(doc));
    return name;
  }

  it("prints a genuine item as a verified fact and exits 0", async function () {
    const url = `${base}/01/${GTIN}/10/L1/21/SN1`;
    const result = await system.as(0, ["verify", url]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json).to.include({
      verdict: "genuine",
      level: "serial",
      genuine: true,
      onChain: true,
      serverVerdict: "genuine",
      agreesWithServer: true,
      revokedAt: null,
    });
    const human = await cli(["verify", url], system.env, system.dir);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.include(
      "verdict: genuine (serial code)\nVerified: genuine, registered by the brand that owns this barcode's prefix\n",
    );
  });

  it("prints a revocation as a verified fact, says the server was wrong, and exits 3", async function () {
    const saved = save("sn7.json", await documentOf("SN7"));
    const anchor = (JSON.parse(fs.readFileSync(path.join(system.dir, saved), "utf8")) as { identity: { root: string } })
      .identity;
    expect(
      (await system.as(1, ["batch", "revoke", "--brand", "1", "--root", anchor.root, "--reason", "Labels misprinted"]))
        .code,
    ).to.equal(0);
    const result = await system.as(0, ["verify", saved]);
    expect(result.code).to.equal(3);
    expect(result.json).to.include({
      verdict: "revoked",
      level: "serial",
      genuine: false,
      serverVerdict: "genuine",
      agreesWithServer: false,
    });
    expect(result.json.revokedAt).to.match(/^20\d\d-/);
    const steps = result.json.steps as { check: string; status: string }[];
    expect(steps.filter((s) => s.status === "fail")).to.deep.equal([]);
    const human = await cli(["verify", saved], system.env, system.dir);
    expect(human.stdout).to.match(
      /\nVerified: the brand revoked this registration on 20\d\d-\d\d-\d\d\nThe server's verdict "genuine" was wrong: Registration revoked\.\n$/,
    );
  });

  it("exits 0 for a registered product", async function () {
    const sample = await documentOf("SN1");
    const product = {
      ...sample,
      level: "product",
      verdict: "registered",
      item: { gtin: GTIN, serial: null, lot: null, digitalLink: `${base}/01/${GTIN}` },
      product: { name: null, attributes: null, items: 3, lots: 1, recalledLots: [] },
    };
    const result = await system.as(0, ["verify", save("product.json", product)]);
    expect(result.code, JSON.stringify(result.json)).to.equal(0);
    expect(result.json).to.include({ verdict: "registered", level: "product", genuine: false, agreesWithServer: true });
  });

  it("says not verified and exits 3 for an altered record", async function () {
    const doc = await documentOf("SN2");
    const tampered = JSON.parse(
      JSON.stringify(doc).replace('"bizStep":"commissioning"', '"bizStep":"shipping"'),
    ) as unknown;
    const result = await system.as(0, ["verify", save("tampered.json", tampered)]);
    expect(result.code).to.equal(3);
    expect(result.json).to.include({ verdict: "not-verified", agreesWithServer: null });
    const human = await cli(["verify", "tampered.json"], system.env, system.dir);
    expect(human.stdout).to.include("FAIL  record-hash").and.include("Not verified: a check above failed.");
  });
});
