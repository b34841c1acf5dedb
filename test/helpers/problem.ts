import assert from 'node:assert/strict';
import type { Reply } from './http.js';
import { ERROR_TYPES, type ErrorType, PROBLEM_FIELDS, REQUEST_ID, reasonPhrase } from './spec.js';

/**
 * Asserts a SPEC §3 error: the status, `application/problem+json`, every field of both
 * vocabularies, consistent duplicates, and `x-request-id` equal to `requestId`.
 * Returns the body for further checks.
 */
export function assertProblem(reply: Reply, status: number, type: ErrorType): Record<string, any> {
  assert.equal(reply.status, status, `expected ${status} ${type}, got ${reply.status}: ${reply.text}`);
  assert.equal(ERROR_TYPES[type], status, `test bug: ${type} is not a ${status}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json(;|$)/);
  const body = reply.body;
  assert.equal(typeof body, 'object', `body is not JSON: ${reply.text}`);
  for (const field of PROBLEM_FIELDS)
    assert.ok(field in body, `problem body lacks '${field}': ${reply.text}`);
  assert.equal(body.type, type);
  assert.equal(body.status, status);
  assert.equal(body.httpStatus, status);
  assert.equal(body.title, reasonPhrase(status));
  assert.equal(typeof body.detail, 'string');
  assert.ok(body.detail.length > 0, 'detail is empty');
  assert.equal(body.details, body.detail);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0, 'message is empty');
  assert.equal(typeof body.instance, 'string');
  assert.ok(body.instance.startsWith('/'), `instance is not a path: ${body.instance}`);
  assert.match(body.requestId, REQUEST_ID);
  assert.equal(reply.headers.get('x-request-id'), body.requestId);
  if (status === 401) assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer\b/);
  return body;
}

/** Asserts a 400 whose `violations` include one at each pointer, each in SPEC §3's shape. */
export function assertViolations(reply: Reply, pointers: readonly string[]): Record<string, any>[] {
  const body = assertProblem(reply, 400, 'BAD_REQUEST');
  assert.ok(Array.isArray(body.violations), `no violations: ${reply.text}`);
  for (const v of body.violations) {
    assert.deepEqual(Object.keys(v).sort(), ['description', 'paths', 'pointer', 'title', 'violationType']);
    assert.equal(typeof v.title, 'string');
    assert.equal(typeof v.description, 'string');
    assert.ok(v.description.length > 0);
    assert.match(v.pointer, /^\/(body|query|path|header)(\/|$)/);
    assert.deepEqual(v.paths, [v.pointer]);
    assert.equal(v.violationType, 'MUST');
  }
  const found = body.violations.map((v: { pointer: string }) => v.pointer);
  for (const pointer of pointers) {
    assert.ok(found.includes(pointer), `no violation at ${pointer}; got ${found.join(', ')}`);
  }
  return body.violations;
}
