import type { Problem } from './types';

/**
 * A refusal from the API (its problem+json), or a failure to reach it at all: what every page
 * shows, with the detail and the request id to quote.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly requestId: string | undefined;
  readonly violations: NonNullable<Problem['violations']>;

  constructor(
    status: number,
    title: string,
    detail: string,
    requestId?: string,
    violations: Problem['violations'] = [],
  ) {
    super(`${title}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.requestId = requestId;
    this.violations = violations;
  }

  /** From a problem+json body (or whatever a non-2xx answer carried instead). */
  static from(status: number, body: unknown, requestId: string | null): ApiError {
    const problem = (typeof body === 'object' && body !== null ? body : {}) as Partial<Problem>;
    return new ApiError(
      status,
      problem.title ?? `HTTP ${status}`,
      problem.detail ?? 'The server gave no detail',
      problem.requestId ?? requestId ?? undefined,
      problem.violations ?? [],
    );
  }
}

/** Any thrown value as an ApiError, so a page has one kind of error to show. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'Network error', 'Could not reach the server; check the connection and try again');
}
