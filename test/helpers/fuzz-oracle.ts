/**
 * What must hold for every reply the fuzzer gets, whatever it sent: no 5xx; every error is SPEC
 * §3's problem+json (checked by the suite's own assertProblem); the admin token is never echoed;
 * and a protected route called without a valid token says 401 (or 429) before it looks at
 * anything else.
 */
import assert from 'node:assert/strict';
import type { Reply } from './http.js';
import { assertProblem } from './problem.js';
import { ERROR_TYPES, type ErrorType } from './spec.js';

function errorTypeOf(status: number): ErrorType | undefined {
  return (Object.keys(ERROR_TYPES) as ErrorType[]).find((type) => ERROR_TYPES[type] === status);
}

export interface ReplyContext {
  /** The request in words, for failure messages. */
  described: string;
  adminToken: string;
  /** The operation needs a token and none (or a junk one) was sent. */
  unauthenticated: boolean;
  /** The request certainly reaches the operation's route (see certainlyRouted). */
  routed: boolean;
}

export function checkReply(reply: Reply, context: ReplyContext): void {
  const { described } = context;
  const answer = `${reply.status} ${reply.text.slice(0, 500)}`;
  assert.ok(reply.status < 500, `a server error for ${described}\n  → ${answer}`);
  assert.ok(!reply.text.includes(context.adminToken), `the admin token echoed for ${described}`);
  if (reply.status >= 400) {
    const type = errorTypeOf(reply.status);
    assert.ok(type !== undefined, `status ${reply.status} is no SPEC error for ${described}\n  → ${answer}`);
    try {
      assertProblem(reply, reply.status, type);
    } catch (error) {
      throw new assert.AssertionError({
        message: `not a SPEC problem+json for ${described}\n  → ${answer}\n  ${(error as Error).message}`,
      });
    }
  }
  if (context.unauthenticated && context.routed) {
    // 429 once the client has spent its failed-authentication budget.
    assert.ok(
      reply.status === 401 || reply.status === 429,
      `no 401 without a valid token for ${described}\n  → ${answer}`,
    );
  } else if (context.unauthenticated) {
    // It may match no route (404) or be refused by the router (400), but never be served or
    // validated: a caller without access learns nothing about the schema.
    assert.ok(
      reply.status >= 400 && reply.status !== 403 && reply.body?.violations === undefined,
      `served or validated without a valid token: ${described}\n  → ${answer}`,
    );
  }
}
