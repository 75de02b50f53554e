/**
 * `batch submit` with TRACE_API_URL: anchors, waits for the API's indexer to see the anchor, uploads the
 * content (which the API checks against the anchored root), and names the API's URL as contentURI.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { createIngestUpload } from "../../api/upload";
import { describeEngines } from "../helpers/engines";
import { createTestSystem, type TestSystem } from "../helpers/system";
import { startRpcServer, type RpcServer } from "./rpc";

describeEngines("traceanchor batch submit with TRACE_API_URL", function (engine) {
  this.timeout(120_000);
  let rpc: RpcServer;
  let system: TestSystem;

  before(async function () {
    rpc = await startRpcServer();
    system = await createTestSystem(rpc.url, engine);
  });
  after(async function () {
    await system?.close();
    await rpc?.close();
  });

  it("uploads the content to the API, which stores it after checking it, and names it as contentURI", async function () {
    const apiContent = path.join(system.dir, "api-content");
    const db = await system.readStore();
    const app = await buildApp({
      db,
      config: apiConfig({ rateLimit: 0, scans: false, contentDir: apiContent }),
      processMetrics: false,
      acceptUpload: createIngestUpload({ store: await system.store(), contentDir: apiContent }),
    });
    const api = (await app.listen({ port: 0, host: "127.0.0.1" })).replace(/\/$/, "");
    // The API's indexer, running while the CLI waits for it to see the anchor.
    let indexing = true;
    const loop = (async () => {
      while (indexing) {
        await system.index().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      fs.writeFileSync(path.join(system.dir, "items.csv"), "gtin,serial\n09506000134352,U1\n09506000134352,U2\n");
      const result = await system.as(
        2,
        ["batch", "submit", "--brand", "1", "--kind", "identity", "--input", "items.csv"],
        { TRACE_API_URL: api, TRACE_CONTENT_DIR: path.join(system.dir, "brand-machine") },
      );
      expect(result.code, result.stderr).to.equal(0);
      const root = result.json.root as string;
      expect(result.json.contentURI).to.equal(`${api}/v1/batches/1/${root}/content`);
      expect(fs.readFileSync(path.join(apiContent, `${root}.ndjson`), "utf8")).to.equal(
        fs.readFileSync(result.json.content as string, "utf8"),
      );
      const item = await fetch(`${api}/01/09506000134352/21/U1`, { headers: { accept: "application/json" } });
      expect(item.status).to.equal(200);
      expect(((await item.json()) as { verdict: string }).verdict).to.equal("genuine");
    } finally {
      indexing = false;
      await loop;
      await app.close();
      await db.close();
    }
  });
});
