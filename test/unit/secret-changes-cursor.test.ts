/** The change feed's cursor (src/features/secrets/secret-changes.cursor.ts): round trips, and only what it wrote. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor } from '../../src/features/secrets/secret-changes.cursor.js';

test('a cursor holds its sequence number, opaquely', () => {
  for (const seq of [0, 1, 42, 2 ** 40, 999_999_999_999_999]) {
    const cursor = encodeCursor(seq);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.equal(decodeCursor(cursor), seq);
  }
});

test('anything encodeCursor could not have written is refused', () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  for (const cursor of [
    '',
    'junk!',
    b64('c1.'),
    b64('c1.-1'),
    b64('c1.01'),
    b64('c1.1.5'),
    b64('c1.1e3'),
    b64('c1. 1'),
    b64('c2.1'),
    b64('c1.1234567890123456'),
    `${encodeCursor(7)}=`,
    `${encodeCursor(7)}A`,
    'a'.repeat(65),
  ]) {
    assert.equal(decodeCursor(cursor), undefined, cursor);
  }
});
