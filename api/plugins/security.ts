/** Security headers, open CORS for reads, and per-client rate limiting. */
import fp from "fastify-plugin";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsync } from "fastify";
import { ApiError } from "../errors";

export interface SecurityOptions {
  /** Requests per client per minute; 0 = off. */
  readonly rateLimit: number;
  /** Origins the scan page's script may call besides its own: the browser RPC. */
  readonly connectSources?: readonly string[];
}

const UNLIMITED = new Set(["/healthz", "/readyz", "/metrics"]);

const securityPlugin: FastifyPluginAsync<SecurityOptions> = async (app, options) => {
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
        // The scan page's verifier reads the chain from the browser RPC, which lives on another origin.
        connectSrc: ["'self'", ...(options.connectSources ?? [])],
      },
    },
    // Proofs are meant to be fetched from any origin.
    crossOriginResourcePolicy: { policy: "cross-origin" },
  });
  await app.register(cors, {
    origin: "*",
    methods: ["GET", "HEAD", "OPTIONS"],
    exposedHeaders: ["ETag", "Cache-Control"],
    maxAge: 86_400,
    // Plain OPTIONS (no preflight headers) gets the CORS headers too instead of a 400.
    strictPreflight: false,
  });
  if (options.rateLimit > 0) {
    await app.register(rateLimit, {
      global: true,
      max: options.rateLimit,
      timeWindow: 60_000,
      keyGenerator: (request) => request.ip,
      allowList: (request) => UNLIMITED.has(request.url.split("?")[0] ?? ""),
      errorResponseBuilder: (_request, context) =>
        new ApiError(429, "RATE_LIMITED", `more than ${context.max} requests per minute; retry in ${Math.ceil(context.ttl / 1000)} s`),
    });
  }
};

export default fp(securityPlugin, { name: "trace-security" });
