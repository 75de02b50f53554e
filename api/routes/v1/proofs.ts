/** GET /v1/proofs/{recordHash}: the proof bundle of one record, immutable once its anchor is final. */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { isFinal, preferredCopy, proofBundle, requireCursor } from "../../documents";
import { notFound } from "../../errors";
import { sendCacheable } from "../../http";
import { Hex32Param, ProofBundle, errorResponses } from "../../schemas";
import type { RouteOptions } from "../options";

/** Anchored copies of one record looked at; the same record in more batches than this is not realistic. */
const MAX_COPIES = 32;

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { mirror }) => {
  app.get(
    "/v1/proofs/:recordHash",
    {
      schema: {
        summary: "Proof bundle of a record",
        description:
          "Record, proof, root and anchor: verifiable offline with StandardMerkleTree.verify(root, ['bytes32'], [recordHash], proof) and against any RPC.",
        tags: ["Proofs"],
        params: Type.Object({ recordHash: Hex32Param }),
        response: {
          200: ProofBundle,
          304: Type.Null({ description: "not modified" }),
          ...errorResponses(400, 404, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const cursor = await requireCursor(mirror);
      const hash = Buffer.from(request.params.recordHash.slice(2), "hex");
      const row = preferredCopy(await mirror.records.byHash(hash, MAX_COPIES), cursor);
      if (row === undefined) throw notFound("record");
      return sendCacheable(request, reply, await proofBundle(mirror, row, cursor), isFinal(row.anchor, cursor));
    },
  );
};

export default plugin;
