/** The SDK's retry policy: which replies are retried, how long it waits, and when it gives up. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay } from '../../src/client/retry.js';

test('Retry-After as seconds or an HTTP date; anything else is no answer', () => {
  const now = Date.parse('2026-12-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Mon, 30 Nov 2026 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-1', now), undefined);
});

test('only 429 and 503, at most `retries` times; the asked wait, else a doubling back-off', () => {
  assert.equal(retryDelay(DEFAULT_RETRY, 1, 500, null), undefined);
  assert.equal(retryDelay(DEFAULT_RETRY, 1, 404, '1'), undefined);
  assert.equal(retryDelay(DEFAULT_RETRY, 1, 429, '2'), 2000);
  assert.equal(retryDelay(DEFAULT_RETRY, 1, 503, null), 250);
  assert.equal(retryDelay(DEFAULT_RETRY, 3, 503, null), 1000);
  assert.equal(retryDelay(DEFAULT_RETRY, 4, 503, '1'), undefined);
  assert.equal(retryDelay({ ...DEFAULT_RETRY, retries: 0 }, 1, 429, '1'), undefined);
});

test('a wait longer than allowed: not waited for when the server asked it, capped when it is the back-off', () => {
  assert.equal(retryDelay(DEFAULT_RETRY, 1, 429, '60'), undefined);
  assert.equal(retryDelay({ ...DEFAULT_RETRY, retries: 10 }, 10, 503, null), DEFAULT_RETRY.maxDelayMs);
});
