/**
 * One error shape for every failure, `{error, message, field?}`: schema validation → 400 naming the
 * field, ApiError → its status, Fastify's own 4xx (body too large, bad media type, rate limit) kept,
 * anything else → 500 with nothing internal in the body. Unknown routes → JSON 404.
 */
import fp from "fastify-plugin";
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, type ErrorBody } from "../errors";

interface ValidationIssue {
  readonly instancePath?: string;
  readonly params?: { readonly missingProperty?: string; readonly additionalProperty?: string };
}

function validationField(error: FastifyError): string | undefined {
  const issue = (error.validation as readonly ValidationIssue[] | undefined)?.[0];
  const path = issue?.instancePath?.replace(/^\//, "").replace(/\//g, ".");
  if (path !== undefined && path !== "") return path;
  return issue?.params?.missingProperty ?? issue?.params?.additionalProperty ?? error.validationContext;
}

export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof ApiError) {
    return {
      status: error.statusCode,
      body: { error: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) },
    };
  }
  const e = error as Partial<FastifyError> | null;
  if (e !== null && typeof e === "object" && Array.isArray(e.validation)) {
    const field = validationField(e as FastifyError);
    return {
      status: 400,
      body: { error: "INVALID_REQUEST", message: String(e.message), ...(field === undefined ? {} : { field }) },
    };
  }
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return {
      status,
      body: {
        error: typeof e?.code === "string" ? e.code : "BAD_REQUEST",
        message: String(e?.message ?? "bad request"),
      },
    };
  }
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_BUSY")) {
    return { status: 503, body: { error: "BUSY", message: "the mirror is busy; retry" } };
  }
  return { status: 500, body: { error: "INTERNAL", message: "internal error" } };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const errorsPlugin: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorResponse(error);
    if (status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.debug({ code: body.error }, "request refused");
    reply.removeHeader("etag");
    return reply.code(status).header("cache-control", "no-store").type("application/json; charset=utf-8").send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .header("cache-control", "no-store")
      .type("application/json; charset=utf-8")
      .send({
        error: "NOT_FOUND",
        message: `no route for ${request.method} ${request.url.split("?")[0] ?? ""}`.slice(0, 300),
      } satisfies ErrorBody);
  });
};

export default fp(errorsPlugin, { name: "trace-errors" });
