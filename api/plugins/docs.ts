/** The OpenAPI document, generated from the route schemas, at /docs/json, and Swagger UI at /docs. */
import fp from "fastify-plugin";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyPluginAsync } from "fastify";

const docsPlugin: FastifyPluginAsync<{ publicUrl: string }> = async (app, { publicUrl }) => {
  await app.register(swagger, {
    openapi: {
      info: {
        title: "TraceAnchor proof API",
        description:
          "GS1 Digital Link resolver and proof service over the TraceAnchor chain mirror. Every proof verifies with @openzeppelin/merkle-tree alone.",
        version: "1.0.0",
      },
      servers: [{ url: publicUrl }],
      tags: [
        { name: "Digital Link" },
        { name: "Proofs" },
        { name: "Brands" },
        { name: "Batches" },
        { name: "Operations" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
};

export default fp(docsPlugin, { name: "trace-docs" });
