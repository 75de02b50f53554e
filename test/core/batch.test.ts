import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { existsSync, readdirSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  buildBatch,
  canonicalRecord,
  checkContent,
  eventHashId,
  openContentFile,
  recordHash,
  ValidationError,
  verifyProof,
  type EpcisEvent,
  type TraceAnchorRecord,
} from "../../core";
import { collect, fixture, SHARED_EPCIS, useTempDir } from "./helpers";

const SEED = new Uint8Array(32).fill(42);

async function contentLines(file: string): Promise<string[]> {
  return (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
}

describe("core/batch and core/content", function () {
  const tmp = useTempDir();

  describe("buildBatch (identity)", function () {
    it("writes <root>.ndjson whose records rebuild the OZ root", async function () {
      const result = await buildBatch({ kind: "identity", input: fixture("identity.csv"), outDir: tmp() });
      expect(result.leafCount).to.equal(3);
      expect(path.basename(result.content)).to.equal(`${result.root}.ndjson`);
      const lines = await contentLines(result.content);
      expect(JSON.parse(lines[0] as string)).to.deep.equal({ v: 1, kind: "identity", root: result.root, leafCount: 3 });
      expect(lines[0]).to.equal(`{"v":1,"kind":"identity","root":"${result.root}","leafCount":3}`);
      const records = lines.slice(1).map((l) => JSON.parse(l) as TraceAnchorRecord);
      records.forEach((r, i) => expect(canonicalRecord(r), `line ${i + 2} is canonical`).to.equal(lines[i + 1]));
      expect(records.map((r) => (r.kind === "identity" ? r.item.serial : ""))).to.deep.equal(["SER1", "SER2", "SER3"]);
      const hashes = records.map((r) => recordHash(r));
      const oz = StandardMerkleTree.of(
        hashes.map((h) => [h]),
        ["bytes32"],
      );
      expect(result.root).to.equal(oz.root);
      hashes.forEach((h, i) => expect(verifyProof(result.root, h, result.tree.proof(i))).to.equal(true));
      expect(await readdir(tmp())).to.deep.equal([path.basename(result.content)]);
    });

    it("is reproducible with a salt seed and differs without one", async function () {
      const a = await buildBatch({
        kind: "identity",
        input: fixture("identity.csv"),
        outDir: path.join(tmp(), "a"),
        saltSeed: SEED,
      });
      const b = await buildBatch({
        kind: "identity",
        input: fixture("identity.csv"),
        outDir: path.join(tmp(), "b"),
        saltSeed: SEED,
      });
      const c = await buildBatch({ kind: "identity", input: fixture("identity.csv"), outDir: path.join(tmp(), "c") });
      expect(a.root).to.equal(b.root);
      expect(c.root).to.not.equal(a.root);
    });

    it("reads identity NDJSON, including non-string attributes", async function () {
      const result = await buildBatch({ kind: "identity", input: fixture("identity.ndjson"), outDir: tmp() });
      expect(result.leafCount).to.equal(2);
      const { records } = await openContentFile(result.content);
      const [first] = await collect(records);
      expect(first?.record).to.deep.include({ attributes: { size: "M", weight: 1.5 } });
    });

    it("throws the first ValidationError and writes nothing", async function () {
      const outDir = tmp();
      try {
        await buildBatch({ kind: "identity", input: fixture("identity-bad.csv"), outDir });
        expect.fail("expected a ValidationError");
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError);
        expect(err).to.include({ line: 3, field: "gtin" });
      }
      expect(await readdir(outDir)).to.deep.equal([]);
    });

    it("with skipInvalid writes the rejects (including duplicates) and builds the rest", async function () {
      const rejects = path.join(tmp(), "rejects.ndjson");
      const result = await buildBatch({
        kind: "identity",
        input: fixture("identity-bad.csv"),
        outDir: path.join(tmp(), "out"),
        skipInvalid: rejects,
      });
      expect(result.leafCount).to.equal(2);
      expect(result.rejected).to.equal(4);
      const rows = (await contentLines(rejects)).map(
        (l) => JSON.parse(l) as { line: number; field?: string; code: string; raw: string },
      );
      expect(rows.map((r) => [r.line, r.field, r.code])).to.deep.equal([
        [3, "gtin", "GTIN_CHECK_DIGIT"],
        [4, "serial", "GS1_AI82_CHARSET"],
        [5, "serial", "DUPLICATE_ITEM"],
        [6, undefined, "CSV_COLUMNS"],
      ]);
      expect(rows[0]?.raw).to.equal("09506000134353,A2,L1");
    });

    it("refuses an input whose format it cannot infer", async function () {
      const input = path.join(tmp(), "items.txt");
      await writeFile(input, "gtin,serial\n");
      try {
        await buildBatch({ kind: "identity", input, outDir: tmp() });
        expect.fail("expected a ValidationError");
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError).with.property("field", "format");
      }
    });
  });

  describe("buildBatch (trace)", function () {
    it("builds an EPCIS document, one record per event, events unchanged but for their hash id", async function () {
      const result = await buildBatch({ kind: "trace", input: fixture("epcis-document.jsonld"), outDir: tmp() });
      expect(result.leafCount).to.equal(2);
      const doc = JSON.parse(await readFile(fixture("epcis-document.jsonld"), "utf8")) as {
        "@context": unknown;
        epcisBody: { eventList: EpcisEvent[] };
      };
      const { records } = await openContentFile(result.content);
      const got = (await collect(records)).map((r) => (r.record.kind === "trace" ? r.record.event : undefined));
      expect(got).to.deep.equal(
        doc.epcisBody.eventList.map((e) => ({ ...e, eventID: eventHashId(e, { context: doc["@context"] }) })),
      );
    });

    it("builds NDJSON events", async function () {
      const result = await buildBatch({ kind: "trace", input: fixture("events.ndjson"), outDir: tmp() });
      expect(result.leafCount).to.equal(3);
      expect((await checkContent(result.content, result)).ok).to.equal(true);
    });

    it("refuses an invalid event naming line and field", async function () {
      try {
        await buildBatch({ kind: "trace", input: fixture("events-bad.ndjson"), outDir: tmp() });
        expect.fail("expected a ValidationError");
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError).and.include({ line: 2, field: "eventTime" });
      }
    });

    describe("shared EPCIS samples", function () {
      before(function () {
        if (!existsSync(SHARED_EPCIS)) {
          // CI always has shared/ beside the clone: there a missing folder is a failure, not a skip.
          if (process.env.CI) throw new Error(`${SHARED_EPCIS} not found`);
          console.log(`    (skipped: ${SHARED_EPCIS} not found)`);
          this.skip();
        }
      });

      const list = (kind: string): string[] =>
        existsSync(path.join(SHARED_EPCIS, kind))
          ? readdirSync(path.join(SHARED_EPCIS, kind)).filter((f) => f.endsWith(".json"))
          : [];

      for (const folder of ["valid", "more-valid"]) {
        for (const file of list(folder)) {
          it(`builds ${folder}/${file}`, async function () {
            const result = await buildBatch({
              kind: "trace",
              input: path.join(SHARED_EPCIS, folder, file),
              outDir: tmp(),
            });
            expect(result.leafCount).to.be.greaterThan(0);
            expect((await checkContent(result.content, result)).ok).to.equal(true);
          });
        }
      }

      const expected: Record<string, RegExp> = {
        "EPCISDocument_without_context.json": /@context/,
        "ObjectEvent_with_invalid_action.json":
          /event 0: action: action must be one of OBSERVE, ADD, DELETE, got "CREATE"/,
        "ObjectEvent_with_invalid_eventTime_format.json": /event 0: eventTime: .*"22-07-2026"/,
        "ObjectEvent_with_quantity_as_text.json":
          /event 0: quantityList\[0\]\.quantity: quantity must be a number, got "twenty"/,
        "ObjectEvent_without_action_and_eventTime.json": /event 0: eventTime: eventTime is required/,
        "ObjectEvent_without_identifier_list.json": /event 0: epcList: event names no identifiers/,
        "Combination_of_non_standard_bizStep_and_disposition.json":
          /event 0: bizStep: "transforming" is not a CBV business step/,
        "ObjectEvent_with_ilmd_field_without_namespace.json":
          /event 0: ilmd\.materialType: ILMD field "materialType" has no namespace/,
        "ObjectEvent_with_non_standard_bizStep.json": /event 0: bizStep: "transforming" is not a CBV business step/,
        "ObjectEvent_with_non_standard_bizStep_in_second_event.json":
          /event 1: bizStep: "transforming" is not a CBV business step/,
        "ObjectEvent_with_non_standard_disposition.json":
          /event 0: disposition: "in_transport" is not a CBV disposition/,
      };
      for (const folder of ["invalid", "more-invalid"]) {
        for (const file of list(folder)) {
          it(`refuses ${folder}/${file} naming the problem`, async function () {
            const outDir = tmp();
            try {
              await buildBatch({ kind: "trace", input: path.join(SHARED_EPCIS, folder, file), outDir });
              expect.fail("expected a ValidationError");
            } catch (err) {
              expect(err).to.be.instanceOf(ValidationError);
              expect((err as Error).message).to.include(file);
              expect((err as Error).message).to.match(expected[file] ?? /no expectation for this sample/);
            }
            expect(await readdir(outDir)).to.deep.equal([]);
          });
        }
      }
    });
  });

  describe("checkContent", function () {
    async function built(): Promise<{ content: string; root: string; leafCount: number; kind: "identity" }> {
      const r = await buildBatch({ kind: "identity", input: fixture("identity.csv"), outDir: tmp(), saltSeed: SEED });
      return { content: r.content, root: r.root, leafCount: r.leafCount, kind: "identity" };
    }

    it("accepts the file it built", async function () {
      const b = await built();
      expect(await checkContent(b.content, b)).to.deep.equal({
        ok: true,
        root: b.root,
        leafCount: 3,
        kind: "identity",
      });
    });

    it("re-canonicalises lines: reordered keys still verify", async function () {
      const b = await built();
      const lines = await contentLines(b.content);
      const record = JSON.parse(lines[1] as string) as Record<string, unknown>;
      const reordered = JSON.stringify(Object.fromEntries(Object.entries(record).reverse()));
      await writeFile(b.content, [lines[0], reordered, ...lines.slice(2)].join("\n") + "\n");
      expect((await checkContent(b.content, b)).ok).to.equal(true);
    });

    it("reports header mismatch, leaf count, root and bad lines", async function () {
      const b = await built();
      const lines = await contentLines(b.content);
      expect(await checkContent(b.content, { ...b, leafCount: 4 })).to.include({ ok: false, code: "HEADER_MISMATCH" });
      expect(await checkContent(b.content, { ...b, kind: "trace" })).to.include({ ok: false, code: "HEADER_MISMATCH" });

      await writeFile(b.content, lines.slice(0, 3).join("\n") + "\n");
      expect(await checkContent(b.content, b)).to.include({ ok: false, code: "LEAF_COUNT" });

      await writeFile(b.content, [...lines, lines[1]].join("\n") + "\n");
      expect(await checkContent(b.content, b)).to.include({ ok: false, code: "LEAF_COUNT" });

      await writeFile(
        b.content,
        [lines[0], (lines[1] as string).replace("SER1", "SER9"), lines[2], lines[3]].join("\n") + "\n",
      );
      expect(await checkContent(b.content, b)).to.include({ ok: false, code: "ROOT" });

      await writeFile(b.content, [lines[0], lines[1], "{not json", lines[3]].join("\n") + "\n");
      expect(await checkContent(b.content, b)).to.include({ ok: false, code: "BAD_LINE", line: 3 });

      await writeFile(
        b.content,
        [lines[0], lines[1], (lines[2] as string).replace('"v":1', '"v":1,"x":2'), lines[3]].join("\n") + "\n",
      );
      expect(await checkContent(b.content, b)).to.include({ ok: false, code: "BAD_LINE", line: 3 });

      await writeFile(b.content, "not a header\n");
      expect(await checkContent(b.content, b)).to.include({ ok: false, code: "HEADER" });
    });
  });
});
