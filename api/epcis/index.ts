/**
 * The EPCIS 2.0 REST binding under /epcis (docs/epcis.md): capture (./capture.ts) and query
 * (./query.ts), in one encapsulated plugin whose errors are problem+json with GS1's exception types
 * and whose every response carries the GS1 version headers. The resolver stays at /01/….
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { captureRoutes, type CaptureDeps } from "./capture";
import { addDiscovery, collectRoutes } from "./discovery";
import { GS1_VERSION_HEADERS, epcisProblem, toProblem, type EpcisProblem } from "./problem";
import { queryRoutes, type QueryDeps } from "./query";

export interface EpcisDeps {
  readonly capture?: CaptureDeps;
  readonly query?: QueryDeps;
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: EpcisProblem) {
  if (problem.statusCode >= 500) request.log.error({ err: problem.cause ?? problem }, "epcis request failed");
  reply.removeHeader("etag");
  return reply
    .code(problem.statusCode)
    .headers(GS1_VERSION_HEADERS)
    .header("cache-control", "no-store")
    .type("application/problem+json")
    .send(problem.body(request.url.split("?")[0]));
}

export const epcisRoutes: FastifyPluginAsync<EpcisDeps> = async (app, deps) => {
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(GS1_VERSION_HEADERS);
    done();
  });
  app.setErrorHandler((error: unknown, request, reply) => sendProblem(request, reply, toProblem(error)));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      epcisProblem(
        404,
        "NoSuchResourceException",
        `no route for ${request.method} ${request.url.split("?")[0] ?? ""}`.slice(0, 300),
      ),
    ),
  );
  const routes = collectRoutes(app);
  if (deps.capture !== undefined) await app.register(captureRoutes, deps.capture);
  if (deps.query !== undefined) await app.register(queryRoutes, deps.query);
  // OPTIONS on every resource (the binding's discovery), with the methods each one has.
  addDiscovery(app, routes);
};
