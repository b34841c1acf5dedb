/**
 * The one mapping from domain errors to HTTP answers (src/http/domain-errors.ts): each kind gets
 * its status and problem type, and keeps its own message, detail and violations, which the
 * end-to-end tests compare byte for byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  throwIfViolations,
  UnavailableError,
  violation,
} from '../../src/domain/errors.js';
import { appErrorOf } from '../../src/http/domain-errors.js';

test('each kind of domain error has its status, and its words are kept', () => {
  const cases = [
    [
      new NotFoundError('Secret not found', "No secret with tag or id 'db'"),
      404,
      'NOT_FOUND',
      'Secret not found',
    ],
    [new ConflictError('Secret already exists', "A secret with tag 'db' already exists"), 409, 'CONFLICT'],
    [new ForbiddenError('This key may not'), 403, 'FORBIDDEN', 'Access denied'],
    [new InvalidInputError('Tags cannot change'), 400, 'BAD_REQUEST', 'Invalid request'],
    [new UnavailableError('Audit log unavailable', 'retry shortly'), 503, 'SERVICE_UNAVAILABLE'],
  ] as const;
  for (const [error, status, type, message = error.message] of cases) {
    const answer = appErrorOf(error);
    assert.equal(answer.status, status, error.name);
    assert.equal(answer.type, type, error.name);
    assert.equal(answer.message, message, error.name);
    assert.equal(answer.detail, error.detail, error.name);
  }
});

test('invalid input carries every violation, in order, and its detail joins their descriptions', () => {
  const violations = [
    violation('/body/name', "'name' is too long"),
    violation('/body', 'Send one', 'Missing field'),
  ];
  let thrown: unknown;
  try {
    throwIfViolations(violations);
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof InvalidInputError);
  const answer = appErrorOf(thrown);
  assert.deepEqual(answer.extra.violations, violations);
  assert.equal(answer.detail, "'name' is too long; Send one");
  assert.doesNotThrow(() => throwIfViolations([]));
});

test('an unavailable dependency keeps its cause for the log, never for the answer', () => {
  const cause = new Error('connection refused');
  const answer = appErrorOf(new UnavailableError('Audit log unavailable', 'retry shortly', cause));
  assert.equal(answer.cause, cause);
  assert.equal(answer.extra.retryAfter, undefined);
});
