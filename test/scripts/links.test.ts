/**
 * `links set | remove | show` against a real chain and API: the brand admin's signature is kept and
 * served back; any other key gets the API's 403 and the stored set stays as it was.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { verifyTypedData } from "ethers";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import type { LinkSetMessage } from "../../core/link-set";
import type { MirrorStore } from "../../mirror/store";
import { closeLinkStore, linkStoreLocation, openLinkStore, type LinkStore } from "../api/links-helper";
import { describeEngines } from "../helpers/engines";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "./rpc";

const GTIN = "09506000134352";

interface LinkSetDoc {
  signer: string;
  signature: string;
  current: boolean;
  typedData: {
    domain: { chainId: number; verifyingContract: string };
    types: Record<string, Array<{ name: string; type: string }>>;
    message: LinkSetMessage;
  };
}

describeEngines("traceanchor links", function (engine) {
  this.timeout(120_000);
  let rpc: RpcServer;
  let system: TestSystem;
  let db: MirrorStore;
  let linksDb: LinkStore;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let api: string;
  let admin: string;
  let submitter: string;

  // One chain and mirror for the suite; an API with an empty link-set store (a SQLite file in
  // memory, or a new PostgreSQL database) for each test.
  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url, engine);
    await system.index();
    db = await system.readStore();
    const signers = await ethers.getSigners();
    admin = signers[1]!.address;
    submitter = signers[2]!.address;
  });
  after(async function () {
    await db?.close();
    await system?.close();
    await rpc?.close();
  });
  beforeEach(async function () {
    linksDb = await openLinkStore(await linkStoreLocation(engine, "cli_links"));
    app = await buildApp({ db, linksDb, config: apiConfig({ rateLimit: 0, scans: false }), processMetrics: false });
    api = (await app.listen({ port: 0, host: "127.0.0.1" })).replace(/\/$/, "");
  });
  afterEach(async function () {
    await app.close();
    await closeLinkStore(linksDb);
  });

  const links = (account: number, argv: string[]) => system.as(account, ["links", ...argv], { TRACE_API_URL: api });
  const set = (account: number, type: string, href: string, title: string, extra: string[] = []) =>
    links(account, ["set", "--brand", "1", "--gtin", GTIN, "--type", type, "--href", href, "--title", title, ...extra]);
  const served = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${api}/v1/links/${GTIN}`);
    return { status: res.status, body: await res.text() };
  };

  it("signs with the brand admin's key, and the API serves the link with that signer", async function () {
    const result = await set(1, "gs1:pip", "https://sunrise.example/formula", "Sunrise infant formula", [
      "--lang",
      "en",
      "--media-type",
      "text/html",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json).to.include({
      gtin: GTIN,
      brandId: "1",
      signer: admin.toLowerCase(),
      current: true,
      url: `${api}/v1/links/${GTIN}`,
    });

    const { status, body } = await served();
    expect(status).to.equal(200);
    const doc = JSON.parse(body) as LinkSetDoc;
    expect(doc.typedData.message.links).to.deep.equal([
      {
        linkType: "gs1:pip",
        href: "https://sunrise.example/formula",
        title: "Sunrise infant formula",
        hreflang: "en",
        mediaType: "text/html",
      },
    ]);
    expect(doc.typedData.domain).to.include({ chainId: 31337, verifyingContract: system.contract.toLowerCase() });
    expect(verifyTypedData(doc.typedData.domain, doc.typedData.types, doc.typedData.message, doc.signature)).to.equal(
      admin,
    );
  });

  it("adds a link of another type, replaces the one of the same type and language, and keeps the rest", async function () {
    expect(
      (await set(1, "gs1:pip", "https://sunrise.example/formula", "Sunrise infant formula", ["--lang", "en"])).code,
    ).to.equal(0);
    expect(
      (
        await set(1, "gs1:instructions", "https://sunrise.example/prepare.pdf", "How to prepare", [
          "--media-type",
          "application/pdf",
        ])
      ).code,
    ).to.equal(0);
    const replaced = await set(1, "gs1:pip", "https://sunrise.example/formula/v2", "Sunrise infant formula", [
      "--lang",
      "en",
    ]);
    expect(replaced.code, replaced.stderr).to.equal(0);
    expect((replaced.json.links as LinkSetMessage["links"]).map((l) => [l.linkType, l.href])).to.deep.equal([
      ["gs1:pip", "https://sunrise.example/formula/v2"],
      ["gs1:instructions", "https://sunrise.example/prepare.pdf"],
    ]);
    const shown = await links(0, ["show", "--gtin", GTIN]);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.json.links).to.deep.equal(replaced.json.links);
    expect(shown.json.signer).to.equal(admin.toLowerCase());
  });

  it("refuses another key with the API's 403 naming the admin and the signer, and the stored set stays", async function () {
    expect(
      (await set(1, "gs1:pip", "https://sunrise.example/formula", "Sunrise infant formula", ["--lang", "en"])).code,
    ).to.equal(0);
    const before = await served();
    expect(before.status).to.equal(200);
    const result = await set(2, "gs1:pip", "https://evil.example/formula", "Sunrise infant formula", ["--lang", "en"]);
    expect(result.code).to.equal(1);
    expect(result.stderr)
      .to.include("HTTP 403")
      .and.include("SIGNER_NOT_ADMIN")
      .and.include(admin.toLowerCase())
      .and.include(submitter.toLowerCase());
    expect(String(result.json.error)).to.include("403");
    expect(await served()).to.deep.equal(before);
  });

  it("removes a link type and signs what is left; a type that is not there changes nothing", async function () {
    expect(
      (await set(1, "gs1:pip", "https://sunrise.example/formula", "Sunrise infant formula", ["--lang", "en"])).code,
    ).to.equal(0);
    expect((await set(1, "gs1:instructions", "https://sunrise.example/prepare.pdf", "How to prepare")).code).to.equal(
      0,
    );
    const removed = await links(1, ["remove", "--brand", "1", "--gtin", GTIN, "--type", "gs1:instructions"]);
    expect(removed.code, removed.stderr).to.equal(0);
    expect((removed.json.links as LinkSetMessage["links"]).map((l) => l.linkType)).to.deep.equal(["gs1:pip"]);
    const before = await served();
    const missing = await links(1, ["remove", "--brand", "1", "--gtin", GTIN, "--type", "gs1:recipeInfo"]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include("no gs1:recipeInfo link");
    expect(await served()).to.deep.equal(before);
  });

  it("refuses bad flags before signing anything, naming the flag", async function () {
    expect((await set(1, "gs1:pip", "https://sunrise.example/formula", "Sunrise infant formula")).code).to.equal(0);
    const before = await served();
    const http = await set(1, "gs1:pip", "http://sunrise.example/", "Sunrise");
    expect(http.code).to.equal(1);
    expect(http.stderr).to.include("--href");
    const type = await set(1, "pip", "https://sunrise.example/", "Sunrise");
    expect(type.stderr).to.include("--type");
    const gtin = await links(1, [
      "set",
      "--brand",
      "1",
      "--gtin",
      "09506000134350",
      "--type",
      "gs1:pip",
      "--href",
      "https://sunrise.example/",
      "--title",
      "Sunrise",
    ]);
    expect(gtin.stderr).to.include("--gtin");
    const noApi = await system.as(1, ["links", "show", "--gtin", GTIN]);
    expect(noApi.code).to.equal(1);
    expect(noApi.stderr).to.include("TRACE_API_URL");
    expect(await served()).to.deep.equal(before);
  });
});
