/** sha256Hex (src/crypto/sha256.ts): the token hash, whichever of Node's APIs computes it. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { sha256Hex } from '../../src/crypto/sha256.js';

test('the SHA-256 of the UTF-8 bytes, in lower-case hex', () => {
  // FIPS 180-2's test vector.
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (const text of ['', 'tsk_abc', 'h\u00e9llo \u{1F511}', 'a\uD800b', 'x'.repeat(10_000)]) {
    assert.equal(
      sha256Hex(text),
      createHash('sha256').update(text, 'utf8').digest('hex'),
      JSON.stringify(text),
    );
  }
});
