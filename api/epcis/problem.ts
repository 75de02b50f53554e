/**
 * EPCIS 2.0 REST binding errors: RFC 7807 `application/problem+json` bodies whose `type` is one of
 * GS1's `epcisException:…` names (openapi.yaml, components/responses), and the GS1 version headers
 * every /epcis response carries.
 *
 *   throw epcisProblem(400, "ValidationException", "event 3: bizStep: …")
 */

export const EPCIS_VERSION = "2.0.0";
export const CBV_VERSION = "2.0.0";

/** Headers on every /epcis response, errors included. */
export const GS1_VERSION_HEADERS: Readonly<Record<string, string>> = {
  "GS1-EPCIS-Version": EPCIS_VERSION,
  "GS1-CBV-Version": CBV_VERSION,
};

/** The exception names of the REST binding that we answer with. */
export type EpcisExceptionType =
  | "ValidationException"
  | "QueryParameterException"
  | "ImplementationException"
  | "SecurityException"
  | "NoSuchResourceException"
  | "NoSuchNameException"
  | "NotAcceptableException"
  | "ResourceAlreadyExistsException"
  | "CaptureLimitExceededException"
  | "UnsupportedMediaTypeException"
  | "SubscriptionControlsException"
  | "QueryTooLargeException"
  | "QueryTooComplexException"
  | "MethodNotAllowedException";

export interface ProblemBody {
  readonly type: `epcisException:${EpcisExceptionType}`;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
}

export class EpcisProblem extends Error {
  readonly statusCode: number;
  readonly exception: EpcisExceptionType;
  readonly title: string;

  constructor(statusCode: number, exception: EpcisExceptionType, detail: string, options?: ErrorOptions) {
    super(detail, options);
    this.name = "EpcisProblem";
    this.statusCode = statusCode;
    this.exception = exception;
    this.title = TITLES[exception];
  }

  body(instance?: string): ProblemBody {
    return {
      type: `epcisException:${this.exception}`,
      title: this.title,
      status: this.statusCode,
      detail: this.message,
      ...(instance === undefined ? {} : { instance }),
    };
  }
}

const TITLES: Readonly<Record<EpcisExceptionType, string>> = {
  ValidationException: "The document or event is not valid EPCIS 2.0",
  QueryParameterException: "A query parameter is not valid",
  ImplementationException: "The service failed to answer",
  SecurityException: "Not allowed",
  NoSuchResourceException: "No such resource",
  NoSuchNameException: "No such named query",
  NotAcceptableException: "No acceptable representation",
  ResourceAlreadyExistsException: "The resource already exists",
  CaptureLimitExceededException: "Over the capture limits",
  UnsupportedMediaTypeException: "Unsupported media type",
  SubscriptionControlsException: "The subscription controls are not valid",
  QueryTooLargeException: "The query result is too large",
  QueryTooComplexException: "The query is too complex",
  MethodNotAllowedException: "Method not allowed",
};

export function epcisProblem(statusCode: number, exception: EpcisExceptionType, detail: string): EpcisProblem {
  return new EpcisProblem(statusCode, exception, detail);
}

/** Maps any error thrown under /epcis to a problem (Fastify's own 4xx keep their status). */
export function toProblem(error: unknown): EpcisProblem {
  if (error instanceof EpcisProblem) return error;
  const e = error as { statusCode?: unknown; message?: unknown; validation?: unknown; code?: unknown } | null;
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  const detail = typeof e?.message === "string" ? e.message : "request refused";
  if (Array.isArray(e?.validation)) return new EpcisProblem(400, "QueryParameterException", detail);
  if (status === 413) return new EpcisProblem(413, "CaptureLimitExceededException", detail);
  if (status === 415) return new EpcisProblem(415, "UnsupportedMediaTypeException", detail);
  if (status === 406) return new EpcisProblem(406, "NotAcceptableException", detail);
  if (status === 404) return new EpcisProblem(404, "NoSuchResourceException", detail);
  if (status === 405) return new EpcisProblem(405, "MethodNotAllowedException", detail);
  if (status === 401 || status === 403) return new EpcisProblem(status, "SecurityException", detail);
  if (status >= 400 && status < 500) return new EpcisProblem(status, "ValidationException", detail);
  return new EpcisProblem(500, "ImplementationException", "internal error", { cause: error });
}
