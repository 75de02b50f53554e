/**
 * Batches: GET /v1/batches (newest first, filtered by brand and kind), GET /v1/batches/{brandId}/{root}
 * (status: final, revoked, content) and GET /v1/batches/{brandId}/{root}/records (pages in leaf order,
 * immutable once the anchor is final).
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { batchStatus, hexOf, isFinal, requireCursor } from "../../documents";
import { ApiError, notFound } from "../../errors";
import { sendCacheable } from "../../http";
import {
  BatchList,
  BatchListQuery,
  BatchParams,
  BatchStatus,
  RecordsPage,
  RecordsQuery,
  errorResponses,
} from "../../schemas";
import type { RouteOptions } from "../options";

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { mirror, config }) => {
  app.get(
    "/v1/batches",
    {
      schema: {
        summary: "Anchored batches, newest first",
        tags: ["Batches"],
        querystring: BatchListQuery,
        response: { 200: BatchList, ...errorResponses(400, 429, 503) },
      },
    },
    async (request, reply) => {
      const cursor = await requireCursor(mirror);
      const { brand, kind, limit = 50 } = request.query;
      const [block, log] = (request.query.cursor ?? "").split("-").map(Number);
      const rows = await mirror.anchors.list({
        ...(brand === undefined ? {} : { brandId: Number(brand) }),
        ...(kind === undefined ? {} : { kind: kind === "identity" ? 1 : 2 }),
        ...(block === undefined || log === undefined || request.query.cursor === undefined
          ? {}
          : { before: { blockNumber: block, logIndex: log } }),
        limit,
      });
      const last = rows.at(-1);
      reply.header("cache-control", "no-cache");
      return {
        batches: rows.map((row) => batchStatus(row, cursor, config)),
        nextCursor: rows.length === limit && last !== undefined ? `${last.blockNumber}-${last.logIndex}` : null,
      };
    },
  );

  app.get(
    "/v1/batches/:brandId/:root",
    {
      schema: {
        summary: "Status of one batch: final, revoked, content",
        tags: ["Batches"],
        params: BatchParams,
        response: { 200: BatchStatus, ...errorResponses(400, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const cursor = await requireCursor(mirror);
      const anchor = await mirror.anchors.get(Number(request.params.brandId), request.params.root.toLowerCase());
      if (anchor === undefined) throw notFound("batch");
      reply.header("cache-control", "no-cache");
      return batchStatus(anchor, cursor, config);
    },
  );

  app.get(
    "/v1/batches/:brandId/:root/records",
    {
      schema: {
        summary: "Records of a batch in leaf order",
        tags: ["Batches"],
        params: BatchParams,
        querystring: RecordsQuery,
        response: {
          200: RecordsPage,
          304: Type.Null({ description: "not modified" }),
          ...errorResponses(400, 404, 409, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const cursor = await requireCursor(mirror);
      const brandId = Number(request.params.brandId);
      const root = request.params.root.toLowerCase();
      const anchor = await mirror.anchors.get(brandId, root);
      if (anchor === undefined) throw notFound("batch");
      if (anchor.contentStatus !== "ok") {
        throw new ApiError(
          409,
          "CONTENT_NOT_AVAILABLE",
          `the content of this batch is ${anchor.contentStatus}${anchor.contentError === null ? "" : `: ${anchor.contentError}`}`,
        );
      }
      const { limit = 100 } = request.query;
      const after = request.query.cursor === undefined ? -1 : Number(request.query.cursor);
      const rows = await mirror.records.page(brandId, root, after, limit);
      const last = rows.at(-1);
      const page = {
        brandId: String(brandId),
        root,
        records: rows.map((row) => ({
          leafIndex: row.leafIndex,
          recordHash: hexOf(row.recordHash),
          record: JSON.parse(row.record) as unknown,
        })),
        nextCursor:
          last !== undefined && last.leafIndex < anchor.leafCount - 1 && rows.length === limit
            ? String(last.leafIndex)
            : null,
      };
      // A final batch's content is fixed by its root, so its pages never change.
      return sendCacheable(request, reply, page, isFinal(anchor, cursor));
    },
  );
};

export default plugin;
