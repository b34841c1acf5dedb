import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStorageUnavailable } from '../db/errors.js';
import { DomainError, type Violation, violation } from '../domain/errors.js';
import { appErrorOf } from './domain-errors.js';
import { AppError, ERROR_STATUS, type ErrorType } from './errors.js';
import { sendProblem } from './problem.js';
import { TEXT_PATTERN_RULES } from './schemas.js';

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const CONTEXT_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

/** One violation per schema problem, pointing at `/body/name`, `/query/pageSize`, ... */
export function violationsFrom(issues: readonly AjvIssue[], context: string): Violation[] {
  const root = `/${CONTEXT_NAMES[context] ?? context}`;
  return issues.map((issue) => {
    const missing = issue.params.missingProperty;
    const pointer =
      root + issue.instancePath + (typeof missing === 'string' ? `/${escapePointer(missing)}` : '');
    const description = describe(issue, pointer);
    return violation(pointer, description, issue.keyword === 'required' ? 'Missing field' : 'Invalid value');
  });
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function describe(issue: AjvIssue, pointer: string): string {
  const field = pointer.split('/').slice(2).join('.') || pointer;
  if (issue.keyword === 'required') return `'${field}' is required`;
  if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) {
    return `'${field}' must be one of ${issue.params.allowedValues.join(', ')}`;
  }
  const rule = issue.keyword === 'pattern' ? TEXT_PATTERN_RULES[String(issue.params.pattern)] : undefined;
  if (rule !== undefined) return `'${field}' ${rule}`;
  return `'${field}' ${issue.message ?? 'is invalid'}`;
}

/** Fastify's own client errors, by code, rendered with our own words (theirs may echo input). */
const FRAMEWORK_ERRORS: Record<string, { type: ErrorType; message: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    type: 'PAYLOAD_TOO_LARGE',
    message: 'Request body too large',
    detail: 'Request bodies are limited to 2 MB',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    type: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported content type',
    detail: 'Send request bodies as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    type: 'BAD_REQUEST',
    message: 'Invalid request',
    detail: 'Content-Length does not match the body received',
  },
  FST_ERR_CTP_INVALID_TYPE: {
    type: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported content type',
    detail: 'The Content-Type header is malformed',
  },
  FST_ERR_ASYNC_CONSTRAINT: {
    type: 'BAD_REQUEST',
    message: 'Invalid request',
    detail: 'The request could not be routed',
  },
};

function typeForStatus(status: number): ErrorType {
  const match = Object.entries(ERROR_STATUS).find(([, code]) => code === status);
  return (match?.[0] as ErrorType | undefined) ?? 'BAD_REQUEST';
}

export interface ErrorHandlerOptions {
  /** Called for every 401 and 403 before it is sent (the audit log records denials). */
  onDenied?: (request: FastifyRequest, error: AppError) => Promise<void>;
}

export function registerErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions = {}) {
  app.setErrorHandler(async (thrown: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A service's refusal is answered exactly as the edge's own: one path from here on.
    const error = thrown instanceof DomainError ? appErrorOf(thrown) : thrown;
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      if ((error.status === 401 || error.status === 403) && options.onDenied !== undefined) {
        // A denial that cannot be recorded is still a denial: log it, and deny.
        await options.onDenied(request, error).catch((failure: unknown) => {
          request.log.error({ err: failure }, 'could not record a denied call in the audit log');
        });
      }
      return sendProblem(request, reply, {
        type: error.type,
        status: error.status,
        message: error.message,
        detail: error.detail,
        violations: error.extra.violations,
        retryAfter: error.extra.retryAfter,
      });
    }
    if (error.validation !== undefined) {
      const violations = violationsFrom(error.validation as AjvIssue[], error.validationContext ?? 'body');
      return sendProblem(request, reply, {
        type: 'BAD_REQUEST',
        status: 400,
        message: 'Invalid request',
        detail: violations.map((v) => v.description).join('; '),
        violations,
      });
    }
    const known = error.code === undefined ? undefined : FRAMEWORK_ERRORS[error.code];
    if (known !== undefined) {
      return sendProblem(request, reply, {
        ...known,
        status: ERROR_STATUS[known.type],
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Another client error raised by the framework: keep its status, not its words.
      request.log.info({ code: error.code, statusCode: status }, 'client error');
      const type = typeForStatus(status);
      return sendProblem(request, reply, {
        type,
        status: ERROR_STATUS[type],
        message: 'Invalid request',
        detail: 'The request could not be processed',
      });
    }
    if (isStorageUnavailable(error)) {
      request.log.warn({ code: error.code }, 'storage unavailable');
      return sendProblem(request, reply, {
        type: 'SERVICE_UNAVAILABLE',
        status: 503,
        message: 'Service unavailable',
        detail: 'Storage is unavailable; retry shortly',
        retryAfter: 1,
      });
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, {
      type: 'UNHANDLED_EXCEPTION',
      status: 500,
      message: 'Internal error',
      detail: `Something went wrong on our side; quote request id ${request.id} when reporting it`,
    });
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      type: 'NOT_FOUND',
      status: 404,
      message: 'Route not found',
      detail: `No route ${request.method} ${request.url.split('?')[0]?.slice(0, 256)}`,
    }),
  );
}
