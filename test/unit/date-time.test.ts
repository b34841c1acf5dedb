/** parseDateTime (src/domain/date-time.ts): ISO 8601 as clients send it; zone-less is UTC. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDateTime } from '../../src/domain/date-time.js';

const iso = (value: string) => parseDateTime(value)?.toISOString();

test('a date-time without a zone is UTC', () => {
  assert.equal(iso('2026-11-21T18:07:29'), '2026-11-21T18:07:29.000Z');
  assert.equal(iso('2026-11-21 18:07:29'), '2026-11-21T18:07:29.000Z');
  assert.equal(iso('2026-11-21T18:07'), '2026-11-21T18:07:00.000Z');
  assert.equal(iso('2026-11-21'), '2026-11-21T00:00:00.000Z');
});

test('Z and offsets are honoured', () => {
  assert.equal(iso('2026-11-21T18:07:29Z'), '2026-11-21T18:07:29.000Z');
  assert.equal(iso('2026-11-21t18:07:29z'), '2026-11-21T18:07:29.000Z');
  assert.equal(iso('2026-11-21T18:07:29+02:00'), '2026-11-21T16:07:29.000Z');
  assert.equal(iso('2026-11-21T18:07:29-0530'), '2026-11-21T23:37:29.000Z');
  assert.equal(iso('2026-12-31T23:00:00-02:00'), '2027-01-01T01:00:00.000Z');
});

test('fractions keep milliseconds', () => {
  assert.equal(iso('2026-11-21T18:07:29.5Z'), '2026-11-21T18:07:29.500Z');
  assert.equal(iso('2026-11-21T18:07:29.123456789'), '2026-11-21T18:07:29.123Z');
});

test('surrounding whitespace is ignored', () => {
  assert.equal(iso(' 2026-11-21T18:07:29Z\n'), '2026-11-21T18:07:29.000Z');
});

test('leap days exist only in leap years', () => {
  assert.equal(iso('2024-02-29T00:00:00Z'), '2024-02-29T00:00:00.000Z');
  assert.equal(iso('2000-02-29'), '2000-02-29T00:00:00.000Z');
  assert.equal(parseDateTime('2026-02-29'), undefined);
  assert.equal(parseDateTime('2100-02-29'), undefined);
});

test('dates that do not exist are refused, whatever the zone', () => {
  for (const value of [
    '2026-02-30',
    '2026-02-30T00:00:00',
    '2026-02-30T00:00:00Z',
    '2026-02-30T10:00:00+01:00',
    '2026-04-31T12:00:00-05:00',
    '2026-00-10T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-32T00:00:00Z',
  ]) {
    assert.equal(parseDateTime(value), undefined, value);
  }
});

test('times that do not exist are refused', () => {
  for (const value of [
    '2026-01-01T24:00:00Z',
    '2026-01-01T24:00:00+01:00',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T12:00:00+25:00',
  ]) {
    assert.equal(parseDateTime(value), undefined, value);
  }
});

test('anything else is refused', () => {
  for (const value of [
    '',
    'tomorrow',
    '1893456000000',
    '21/11/2026',
    '2026-11-21T18',
    '2026-11-21T18:07:29 UTC',
    '2026-11-21T18:07:29+2',
    '+02026-11-21T18:07:29Z',
    'Sat, 21 Nov 2026 18:07:29 GMT',
  ]) {
    assert.equal(parseDateTime(value), undefined, value);
  }
});
