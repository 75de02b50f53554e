/**
 * /docs/json describes the EPCIS capture and query routes when the app serves them (api/plugins/epcis-docs.ts),
 * with the capture token's bearer scheme, and lists no /epcis path when it does not.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { buildApp } from "../../api/app";
import { apiConfig } from "../../api/config";
import { openDatabase } from "../../mirror/db";
import { sqliteEpcisStore } from "../../mirror/epcis/store";
import { openTestStore } from "../helpers/engines";

interface OpenApi {
  paths: Record<string, Record<string, { tags?: string[]; security?: unknown[]; responses: Record<string, unknown> }>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

async function openApiOf(withCapture: boolean): Promise<OpenApi> {
  const mirror = await openTestStore("sqlite", "docs_epcis");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-docs-epcis-"));
  const store = sqliteEpcisStore(openDatabase(path.join(dir, "epcis.db")));
  const app = await buildApp({
    db: mirror,
    config: apiConfig({ rateLimit: 0, scans: false }),
    processMetrics: false,
    ...(withCapture
      ? {
          epcis: {
            capture: {
              store,
              account: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
              submitters: () => Promise.resolve([]),
            },
            query: { store, mirror },
          },
        }
      : {}),
  });
  try {
    const res = await app.inject({ url: "/docs/json" });
    expect(res.statusCode).to.equal(200);
    return JSON.parse(res.body) as OpenApi;
  } finally {
    await app.close();
    await store.close();
    await mirror.close();
  }
}

describe("/docs: the EPCIS capture interface", function () {
  this.timeout(30_000);

  it("lists the query routes with every event query parameter", async function () {
    const doc = await openApiOf(true);
    const events = doc.paths["/epcis/events"] as Record<string, { parameters?: { name: string }[] }>;
    const names = (events.get?.parameters ?? []).map((p) => p.name);
    expect(names).to.include.members([
      "eventType",
      "GE_eventTime",
      "EQ_bizStep",
      "MATCH_epc",
      "MATCH_anyEPC",
      "nextPageToken",
    ]);
    for (const route of [
      "/epcis/events/{eventID}",
      "/epcis/bizSteps/{bizStep}/events",
      "/epcis/epcs/{epc}/events",
      "/epcis/queries/{name}/events",
    ])
      expect(doc.paths, route).to.have.property(route);
    expect(doc.paths["/epcis/queries/{name}/subscriptions"]).to.have.property("post");
  });

  it("lists every capture route with its responses and the capture token's scheme", async function () {
    const doc = await openApiOf(true);
    expect(doc.paths["/epcis/capture"]).to.include.keys("options", "post", "get");
    expect(doc.paths["/epcis/capture/{captureID}"]).to.have.property("get");
    expect(doc.paths["/epcis/events"]).to.have.property("post");
    const post = doc.paths["/epcis/capture"]!.post!;
    expect(post.tags).to.deep.equal(["EPCIS"]);
    expect(post.security).to.deep.equal([{ captureToken: [] }]);
    expect(post.responses).to.include.keys("202", "400", "401", "403", "413", "415");
    expect(doc.paths["/epcis/events"]!.post!.responses).to.include.keys("201", "409");
    expect(doc.components?.securitySchemes?.captureToken).to.include({ type: "http", scheme: "bearer" });
  });

  it("lists no /epcis path when the app serves no EPCIS interface", async function () {
    const doc = await openApiOf(false);
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/epcis"))).to.deep.equal([]);
    expect(doc.paths).to.have.property("/01/{gtin}/10/{lot}/21/{serial}");
  });
});
