/** GET /v1/brands and /v1/brands/{brandId}: brands with their prefixes and submitters. */
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { isoTime } from "../../documents";
import { notFound } from "../../errors";
import type { BrandRow } from "../../../mirror/types";
import { Brand, BrandDetail, BrandIdParam, errorResponses } from "../../schemas";
import type { RouteOptions } from "../options";

const brandDoc = (row: BrandRow) => ({
  brandId: String(row.brandId),
  name: row.name,
  admin: row.admin,
  pendingAdmin: row.pendingAdmin,
  registeredBlock: row.registeredBlock,
  registeredTx: row.registeredTx,
  registeredTime: isoTime(row.registeredTime),
});

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { mirror }) => {
  app.get(
    "/v1/brands",
    {
      schema: {
        summary: "All registered brands",
        tags: ["Brands"],
        querystring: Type.Object({}, { additionalProperties: false }),
        response: { 200: Type.Object({ brands: Type.Array(Brand) }), ...errorResponses(400, 429, 503) },
      },
    },
    async (_request, reply) => {
      reply.header("cache-control", "public, max-age=60");
      return { brands: (await mirror.brands.list()).map(brandDoc) };
    },
  );

  app.get(
    "/v1/brands/:brandId",
    {
      schema: {
        summary: "One brand, its GS1 company prefixes and its submitters with roles",
        tags: ["Brands"],
        params: Type.Object({ brandId: BrandIdParam }),
        response: { 200: BrandDetail, ...errorResponses(400, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const brandId = Number(request.params.brandId);
      const row = await mirror.brands.get(brandId);
      if (row === undefined) throw notFound("brand");
      reply.header("cache-control", "public, max-age=60");
      return {
        ...brandDoc(row),
        prefixes: (await mirror.brands.prefixes(brandId)).map((p) => ({
          prefix: p.prefix,
          assignedBlock: p.assignedBlock,
          assignedTx: p.assignedTx,
          assignedTime: isoTime(p.assignedTime),
        })),
        submitters: (await mirror.brands.submitters(brandId)).map((s) => ({
          account: s.account,
          role: s.role,
          roleRaw: s.roleRaw,
          setBlock: s.setBlock,
          setTx: s.setTx,
          setTime: isoTime(s.setTime),
        })),
      };
    },
  );
};

export default plugin;
