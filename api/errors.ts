/**
 * The API's one error type, and the JSON body every error response has: `{error, message, field?}`
 * where `error` is a stable machine-readable code.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(statusCode: number, code: string, message: string, field?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
  }
}

export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

export const notFound = (what: string): ApiError => new ApiError(404, "NOT_FOUND", `${what} not found`);
