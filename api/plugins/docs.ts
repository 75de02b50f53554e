/**
 * The OpenAPI document, generated from the route schemas, at /docs/json, and Swagger UI at /docs.
 * The EPCIS capture routes, which validate in their handlers, are described by ./epcis-docs.ts.
 */
import fp from "fastify-plugin";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyPluginAsync, FastifySchema, RouteOptions } from "fastify";
import { EPCIS_OPERATIONS } from "./epcis-docs";

/** The document's view of a route: the EPCIS routes get their description and the EPCIS tag. */
function describeRoute({ schema, url, route }: { schema: FastifySchema; url: string; route: RouteOptions }): {
  schema: FastifySchema;
  url: string;
} {
  if (!url.startsWith("/epcis/")) return { schema, url };
  const method = (Array.isArray(route.method) ? route.method[0] : route.method) as string;
  const described = EPCIS_OPERATIONS[`${method.toUpperCase()} ${url}`];
  return { schema: { tags: ["EPCIS"], ...described, ...schema }, url };
}

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
        {
          name: "EPCIS",
          description:
            "GS1 EPCIS 2.0 REST binding: capture, anchored as trace batches, and query with Merkle proofs (docs/epcis.md)",
        },
      ],
      components: {
        securitySchemes: {
          captureToken: {
            type: "http",
            scheme: "bearer",
            description: "a capture token from `traceanchor capture token create --brand ID`",
          },
        },
      },
    },
    transform: describeRoute,
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
};

export default fp(docsPlugin, { name: "trace-docs" });
