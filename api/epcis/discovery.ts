/**
 * The REST binding's discovery: `OPTIONS` on every /epcis resource (the binding's
 * 204DefaultDiscoveryResponse and its kin), answered with the methods the resource has and the
 * versions we speak. Needs no token, like every OPTIONS of the binding. Capture's OPTIONS adds its
 * limits (./capture.ts); every other resource gets the one below.
 *
 *   collectRoutes(app): RouteMethods        call before registering the routes
 *   addDiscovery(app, routes): void         call after: OPTIONS for each path that lacks one
 */
import type { FastifyInstance } from "fastify";
import { CBV_VERSION, EPCIS_VERSION } from "./problem";

/** Methods by full path (prefix included), as registered (HEAD, which Fastify adds to every GET, included). */
export type RouteMethods = Map<string, Set<string>>;

/** The discovery headers of a resource allowing `methods` (OPTIONS among them). */
export function discoveryHeaders(methods: Iterable<string>): Record<string, string> {
  const allow = new Set(["OPTIONS", ...methods]);
  return {
    Allow: ["OPTIONS", "GET", "HEAD", "POST", "DELETE"].filter((m) => allow.has(m)).join(", "),
    "GS1-EPCIS-Version": EPCIS_VERSION,
    "GS1-EPCIS-Min": EPCIS_VERSION,
    "GS1-EPCIS-Max": EPCIS_VERSION,
    "GS1-CBV-Version": CBV_VERSION,
    "GS1-CBV-Min": CBV_VERSION,
    "GS1-CBV-Max": CBV_VERSION,
    // Events are served as captured and anchored (their proofs are over those bytes): EPCs and CBV
    // values are never rewritten into another form; queries match every form all the same.
    "GS1-EPC-Format": "Never_Translates",
    "GS1-CBV-XML-Format": "Never_Translates",
  };
}

export function collectRoutes(app: FastifyInstance): RouteMethods {
  const routes: RouteMethods = new Map();
  app.addHook("onRoute", (route) => {
    const methods = routes.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method.toUpperCase());
    routes.set(route.url, methods);
  });
  return routes;
}

export function addDiscovery(app: FastifyInstance, routes: RouteMethods): void {
  for (const [url, methods] of [...routes]) {
    if (methods.has("OPTIONS")) continue;
    if (!url.startsWith(app.prefix)) continue;
    const headers = discoveryHeaders(methods);
    app.options(url.slice(app.prefix.length) || "/", async (request, reply) => {
      reply.code(204).headers(headers);
      // A browser's CORS preflight lands here too (this route shadows the app's preflight route):
      // answer it as @fastify/cors does there (api/plugins/security.ts), reads from any origin.
      if (request.headers["access-control-request-method"] !== undefined) {
        const asked = request.headers["access-control-request-headers"];
        reply.headers({
          "access-control-allow-methods": "GET, HEAD, OPTIONS",
          ...(typeof asked === "string" ? { "access-control-allow-headers": asked } : {}),
          "access-control-max-age": "86400",
        });
      }
      return reply.send();
    });
  }
}
