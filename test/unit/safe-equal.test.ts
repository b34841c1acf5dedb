/** digestsEqual (src/crypto/tokens.ts): equality of token digests, compared as text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestsEqual, hashToken } from '../../src/crypto/tokens.js';

test('digestsEqual: two different strings that are not hex are not equal', () => {
  // Decoding as hex would turn both into zero bytes, and zero bytes equal zero bytes.
  assert.equal(digestsEqual('zz', 'yy'), false);
  assert.equal(digestsEqual('not hex at all', ''), false);
  assert.equal(digestsEqual(hashToken('a'), hashToken('a').toUpperCase()), false);
  assert.equal(digestsEqual(hashToken('a'), hashToken('a')), true);
});

test('digestsEqual: any difference, at any position, or in length, is unequal', () => {
  const digest = hashToken('a');
  for (let i = 0; i < digest.length; i++) {
    const other = `${digest.slice(0, i)}${digest[i] === '0' ? '1' : '0'}${digest.slice(i + 1)}`;
    assert.equal(digestsEqual(digest, other), false, `position ${i}`);
  }
  assert.equal(digestsEqual(digest, `${digest}0`), false);
  assert.equal(digestsEqual(`${digest}0`, digest), false);
  assert.equal(digestsEqual('', ''), true);
});
