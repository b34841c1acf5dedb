import type { Violation } from '../domain/errors.js';

/**
 * The failures only the edge raises (401, 408, 413, 415, 429, 431...) and what every refusal
 * becomes before it is rendered: services and features throw domain errors (src/domain/errors.ts),
 * which domain-errors.ts maps to these. Each type maps to one HTTP status; the error handler
 * renders it as SPEC §3's problem+json. Messages quote what the caller sent, never a token, secret
 * value or internal detail.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  UNHANDLED_EXCEPTION: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ErrorType = keyof typeof ERROR_STATUS;

export const ERROR_TITLES: Record<ErrorType, string> = {
  BAD_REQUEST: 'Bad Request',
  UNAUTHORIZED: 'Unauthorized',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not Found',
  METHOD_NOT_ALLOWED: 'Method Not Allowed',
  REQUEST_TIMEOUT: 'Request Timeout',
  CONFLICT: 'Conflict',
  PAYLOAD_TOO_LARGE: 'Payload Too Large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
  TOO_MANY_REQUESTS: 'Too Many Requests',
  REQUEST_HEADER_FIELDS_TOO_LARGE: 'Request Header Fields Too Large',
  UNHANDLED_EXCEPTION: 'Internal Server Error',
  SERVICE_UNAVAILABLE: 'Service Unavailable',
};

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  constructor(
    readonly type: ErrorType,
    /** Short and generic: "Secret not found". */
    message: string,
    /** Specific: "No secret with tag or id 'db'". Defaults to the message. */
    readonly detail: string = message,
    readonly extra: { violations?: readonly Violation[]; retryAfter?: number } = {},
    /** The underlying failure, for the log only: never rendered. */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.status = ERROR_STATUS[type];
  }
}

/** A 400 the edge raises itself (a body that is not JSON): every violation found, at once. */
export const badRequest = (detail: string, violations: Violation[] = []) =>
  new AppError('BAD_REQUEST', 'Invalid request', detail, { violations });
