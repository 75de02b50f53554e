/**
 * PUT /v1/batches/{brandId}/{root}/content: a content file, streamed, accepted only if it rebuilds the
 * anchored root, kind and leaf count (checked by the injected `acceptUpload`). 404 for an anchor the
 * mirror does not know yet: the CLI retries while the indexer catches up.
 */
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { checkContent } from "../../../core/content";
import { kindOfCode } from "../../../core/record";
import { ApiError, notFound } from "../../errors";
import { BatchParams, UploadResult, errorResponses } from "../../schemas";
import { Type } from "@sinclair/typebox";
import type { RouteOptions } from "../options";
import { UPLOAD_STATUS } from "../../upload";

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { mirror, config, acceptUpload }) => {
  // The body is handed over as a stream, whatever its type; nothing buffers it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  // The content file itself, as anchored: what `batch submit` names as contentURI when it uploads to an
  // API, so other replicas and auditors can fetch it. Served only once it has been checked.
  app.get(
    "/v1/batches/:brandId/:root/content",
    {
      schema: {
        summary: "Download the content file of an anchored batch",
        description:
          "NDJSON: the header line, then one record per line. Available once the content matched the anchored root.",
        tags: ["Batches"],
        produces: ["application/x-ndjson"],
        params: BatchParams,
        response: {
          200: Type.Unknown({ description: "the content file (NDJSON), streamed" }),
          304: Type.Null({ description: "not modified" }),
          ...errorResponses(400, 404, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const brandId = Number(request.params.brandId);
      const root = request.params.root.toLowerCase();
      const anchor = await mirror.anchors.get(brandId, root);
      if (anchor === undefined) throw notFound("anchor");
      if (anchor.contentStatus !== "ok")
        throw new ApiError(409, "CONTENT_NOT_AVAILABLE", `the content of this batch is ${anchor.contentStatus}`);
      const file = path.join(config.contentDir, `${root}.ndjson`);
      if (!fs.existsSync(file)) throw notFound("content file");
      // Content-addressed by its root: it never changes.
      void reply.header("cache-control", "public, max-age=31536000, immutable").header("etag", `"${root}"`);
      if (request.headers["if-none-match"] === `"${root}"`) return reply.code(304).send(null);
      return reply.type("application/x-ndjson").send(fs.createReadStream(file));
    },
  );

  app.put(
    "/v1/batches/:brandId/:root/content",
    {
      schema: {
        summary: "Upload the content file of an anchored batch",
        description:
          "NDJSON content file (header line, then one record per line), streamed; the body is not schema-validated but rebuilt into a Merkle tree.",
        tags: ["Batches"],
        consumes: ["application/x-ndjson"],
        params: BatchParams,
        response: { 200: UploadResult, ...errorResponses(400, 404, 409, 413, 422, 429, 503, 507) },
      },
    },
    async (request, reply) => {
      const brandId = Number(request.params.brandId);
      const root = request.params.root.toLowerCase();
      const anchor = await mirror.anchors.get(brandId, root);
      if (anchor === undefined) throw notFound("anchor");
      const done = { brandId: String(brandId), root, leafCount: anchor.leafCount };
      const kind = kindOfCode(anchor.kind);
      if (kind === undefined)
        throw new ApiError(
          422,
          "UNKNOWN_KIND",
          `the anchor has kind ${anchor.kind}, neither identity (1) nor trace (2)`,
        );
      const declared = Number(request.headers["content-length"]);
      if (Number.isFinite(declared) && declared > config.maxUploadBytes) {
        throw new ApiError(413, "TOO_LARGE", `content is larger than ${config.maxUploadBytes} bytes`);
      }
      const stream = request.body as Readable | undefined;
      if (stream === undefined || typeof stream.pipe !== "function")
        throw new ApiError(400, "EMPTY_BODY", "send the content file as the request body", "body");
      if (anchor.contentStatus === "ok") {
        // Stored already; still check what was sent, so a wrong file never gets a 200.
        const check = await checkContent(
          { input: stream, file: "upload" },
          { root, kind, leafCount: anchor.leafCount },
        );
        if (!check.ok) throw new ApiError(422, "MISMATCH", check.reason);
        return { status: "already-present", ...done };
      }
      if (acceptUpload === undefined)
        throw new ApiError(503, "UPLOADS_DISABLED", "this replica does not accept content uploads");
      const result = await acceptUpload({
        anchor: { brandId: String(brandId), root, kind, leafCount: anchor.leafCount, contentUri: anchor.contentUri },
        stream,
        maxBytes: config.maxUploadBytes,
      });
      if (!result.ok) throw new ApiError(UPLOAD_STATUS[result.code], result.code, result.reason);
      reply.code(200);
      return { status: "accepted", ...done };
    },
  );
};

export default plugin;
