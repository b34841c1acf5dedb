import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRequestId } from '../../src/http/request-id.js';

const SHAPE = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

test('a request id is req_ and a 26-character Crockford ULID', () => {
  for (let i = 0; i < 1000; i++) assert.match(generateRequestId(), SHAPE);
});

test('the first ten characters encode the millisecond, so ids sort by time', () => {
  assert.equal(generateRequestId(0).slice(4, 14), '0000000000');
  assert.equal(generateRequestId(1).slice(4, 14), '0000000001');
  assert.equal(generateRequestId(32).slice(4, 14), '0000000010');
  assert.equal(generateRequestId(2 ** 48 - 1).slice(4, 14), '7ZZZZZZZZZ');
  const earlier = generateRequestId(1_700_000_000_000);
  const later = generateRequestId(1_700_000_000_001);
  assert.ok(earlier < later);
});

test('ids do not repeat, across refills of the random pool', () => {
  const ids = new Set<string>();
  // Several pools' worth within one millisecond value: only the random part can differ.
  for (let i = 0; i < 5000; i++) ids.add(generateRequestId(42));
  assert.equal(ids.size, 5000);
});

test('the random part uses the whole alphabet', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) for (const c of generateRequestId().slice(14)) seen.add(c);
  assert.equal(seen.size, 32);
});
