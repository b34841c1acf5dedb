import type { FastifyReply, FastifyRequest } from 'fastify';
import { redactTokens } from '../crypto/tokens.js';
import type { Violation } from '../domain/errors.js';
import { ERROR_TITLES, type ErrorType } from './errors.js';

/** The problem+json body of SPEC §3: RFC 9457 fields and Cortex's own, side by side. */
export interface Problem {
  type: ErrorType;
  title: string;
  status: number;
  detail: string;
  instance: string;
  message: string;
  details: string;
  httpStatus: number;
  requestId: string;
  violations?: readonly Violation[];
  retryAfter?: number;
}

export interface ProblemInput {
  type: ErrorType;
  status: number;
  message: string;
  detail: string;
  violations?: readonly Violation[] | undefined;
  retryAfter?: number | undefined;
}

/**
 * The path without its query string (the query may hold anything and is not ours to echo), and
 * without anything token-like a client may have pasted into it.
 */
function instanceOf(request: FastifyRequest): string {
  const url = request.url;
  const cut = url.indexOf('?');
  return redactTokens((cut === -1 ? url : url.slice(0, cut)).slice(0, 512));
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, input: ProblemInput) {
  // Details may quote an identifier from the path ("No API key with cid '…'").
  const detail = redactTokens(input.detail);
  const body: Problem = {
    type: input.type,
    title: ERROR_TITLES[input.type],
    status: input.status,
    detail,
    instance: instanceOf(request),
    message: input.message,
    details: detail,
    httpStatus: input.status,
    requestId: request.id,
  };
  if (input.violations !== undefined && input.violations.length > 0) {
    body.violations = input.violations;
  }
  if (input.retryAfter !== undefined) {
    body.retryAfter = input.retryAfter;
    reply.header('retry-after', String(input.retryAfter));
  }
  if (input.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(input.status).type('application/problem+json').send(body);
}
