/**
 * Security headers, open CORS for reads, and per-client rate limiting.
 *
 * The security headers are the ones @fastify/helmet sets with this configuration (Helmet 8 defaults,
 * frame-ancestors 'none', no upgrade-insecure-requests, the browser RPC in connect-src, a
 * cross-origin resource policy), computed once and added by one hook instead of running Helmet's
 * middleware chain per request; test/api/item-fast-path.test.ts holds them equal to Helmet's.
 * The CORS headers of simple requests are static too (any origin may read); preflights are still
 * answered by @fastify/cors, registered around its OPTIONS route only.
 */
import fp from "fastify-plugin";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors";

export interface SecurityOptions {
  /** Requests per client per minute; 0 = off. */
  readonly rateLimit: number;
  /** Origins the scan page's script may call besides its own: the browser RPC. */
  readonly connectSources?: readonly string[];
}

const UNLIMITED = new Set(["/healthz", "/readyz", "/metrics"]);

/** Helmet's default CSP directives with ours applied, in Helmet's order. */
export function contentSecurityPolicy(connectSources: readonly string[]): string {
  const directives: [string, string[]][] = [
    ["default-src", ["'self'"]],
    ["base-uri", ["'self'"]],
    ["font-src", ["'self'", "https:", "data:"]],
    ["form-action", ["'self'"]],
    // Nobody may frame the scan page.
    ["frame-ancestors", ["'none'"]],
    ["img-src", ["'self'", "data:"]],
    ["object-src", ["'none'"]],
    ["script-src", ["'self'"]],
    ["script-src-attr", ["'none'"]],
    ["style-src", ["'self'", "https:", "'unsafe-inline'"]],
    // The scan page's verifier reads the chain from the browser RPC, which lives on another origin.
    ["connect-src", ["'self'", ...connectSources]],
  ];
  for (const source of connectSources) {
    if (/[;,\s]/.test(source)) throw new Error(`connect-src source ${JSON.stringify(source)} is not a CSP source`);
  }
  return directives.map(([name, values]) => (values.length === 0 ? name : `${name} ${values.join(" ")}`)).join(";");
}

/** Every header @fastify/helmet would set for `connectSources`, lower-case names. */
export function securityHeaders(connectSources: readonly string[]): Readonly<Record<string, string>> {
  return Object.freeze({
    "content-security-policy": contentSecurityPolicy(connectSources),
    "cross-origin-opener-policy": "same-origin",
    // Proofs are meant to be fetched from any origin.
    "cross-origin-resource-policy": "cross-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "SAMEORIGIN",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
  });
}

/** What @fastify/cors adds to every non-preflight response with these options. */
const CORS_OPTIONS = {
  origin: "*",
  methods: ["GET", "HEAD", "OPTIONS"],
  exposedHeaders: ["ETag", "Cache-Control"],
  maxAge: 86_400,
  // Plain OPTIONS (no preflight headers) gets the CORS headers too instead of a 400.
  strictPreflight: false,
};
const CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "access-control-allow-origin": "*",
  "access-control-expose-headers": CORS_OPTIONS.exposedHeaders.join(", "),
});

const securityPlugin: FastifyPluginAsync<SecurityOptions> = async (app, options) => {
  const headers = { ...securityHeaders(options.connectSources ?? []), ...CORS_HEADERS };
  const names = Object.keys(headers);
  const values = names.map((name) => headers[name] as string);

  app.addHook("onRequest", (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    for (let i = 0; i < names.length; i++) reply.header(names[i] as string, values[i]);
    done();
  });

  // Preflights: @fastify/cors in its own context, so its hook runs for its OPTIONS route only.
  await app.register(async (preflight) => {
    await preflight.register(cors, CORS_OPTIONS);
  });
  if (options.rateLimit > 0) {
    await app.register(rateLimit, {
      global: true,
      max: options.rateLimit,
      timeWindow: 60_000,
      keyGenerator: (request) => request.ip,
      allowList: (request) => UNLIMITED.has(pathOf(request.url)),
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          429,
          "RATE_LIMITED",
          `more than ${context.max} requests per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });
  }
};

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

export default fp(securityPlugin, { name: "trace-security" });
