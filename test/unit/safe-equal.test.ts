/** safeEqual and digestsEqual (src/crypto/tokens.ts): equality of secret-derived strings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestsEqual, hashToken, safeEqual } from '../../src/crypto/tokens.js';

test('equal strings are equal; any difference, a length included, is not', () => {
  const token = 'tsk_abc';
  assert.equal(safeEqual(token, 'tsk_abc'), true);
  assert.equal(safeEqual('', ''), true);
  for (const other of ['tsk_abd', 'tsk_ab', 'tsk_abcd', '', 'TSK_ABC', 'tsk_abc\0']) {
    assert.equal(safeEqual(token, other), false, JSON.stringify(other));
    assert.equal(safeEqual(other, token), false, JSON.stringify(other));
  }
  // Compared as JavaScript strings, not through a lossy encoding: UTF-8 would turn both of these
  // lone surrogates into the same replacement character.
  assert.equal(safeEqual('\uD800', '\uDBFF'), false);
});

test('digestsEqual: two different strings that are not hex are not equal', () => {
  // Decoding as hex would turn both into zero bytes, and zero bytes equal zero bytes.
  assert.equal(digestsEqual('zz', 'yy'), false);
  assert.equal(digestsEqual('not hex at all', ''), false);
  assert.equal(digestsEqual(hashToken('a'), hashToken('a').toUpperCase()), false);
  assert.equal(digestsEqual(hashToken('a'), hashToken('a')), true);
});
