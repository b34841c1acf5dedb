/** src/crypto/aes-gcm.ts: AES-256-GCM that fails loudly (DecryptionError), never with garbage. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { DecryptionError, open, seal } from '../../src/crypto/aes-gcm.js';

const key = randomBytes(32);
const plaintext = Buffer.from('correct horse battery staple', 'utf8');

describe('seal and open', () => {
  test('round trip, for empty, small and 64 KiB plaintexts', () => {
    for (const text of [Buffer.alloc(0), plaintext, randomBytes(64 * 1024)]) {
      const sealed = seal(key, text, 'aad');
      assert.deepEqual(open(key, sealed, 'aad'), text);
    }
  });

  test('a 12-byte nonce and a 16-byte tag: data is the plaintext length + 16', () => {
    const sealed = seal(key, plaintext, 'aad');
    assert.equal(sealed.iv.length, 12);
    assert.equal(sealed.data.length, plaintext.length + 16);
    assert.ok(!sealed.data.includes(plaintext));
  });

  test('a fresh nonce every time: the same input never seals the same way twice', () => {
    const a = seal(key, plaintext, 'aad');
    const b = seal(key, plaintext, 'aad');
    assert.notDeepEqual(a.iv, b.iv);
    assert.notDeepEqual(a.data, b.data);
  });
});

describe('open refuses with DecryptionError', () => {
  const sealed = seal(key, plaintext, 'tessera:test:1');

  test('another key', () => {
    assert.throws(() => open(randomBytes(32), sealed, 'tessera:test:1'), DecryptionError);
  });

  test('other additional data', () => {
    for (const aad of ['tessera:test:2', 'tessera:test:1 ', '', 'TESSERA:TEST:1']) {
      assert.throws(() => open(key, sealed, aad), DecryptionError, aad);
    }
  });

  test('any single flipped bit of the ciphertext, the tag or the nonce', () => {
    for (let i = 0; i < sealed.data.length; i++) {
      const data = Buffer.from(sealed.data);
      data[i] = (data[i] as number) ^ 0x80;
      assert.throws(() => open(key, { iv: sealed.iv, data }, 'tessera:test:1'), DecryptionError, `byte ${i}`);
    }
    for (let i = 0; i < sealed.iv.length; i++) {
      const iv = Buffer.from(sealed.iv);
      iv[i] = (iv[i] as number) ^ 0x01;
      assert.throws(() => open(key, { iv, data: sealed.data }, 'tessera:test:1'), DecryptionError, `iv ${i}`);
    }
  });

  test('truncated data or a nonce of the wrong length', () => {
    assert.throws(
      () => open(key, { iv: sealed.iv, data: sealed.data.subarray(0, 15) }, 'tessera:test:1'),
      DecryptionError,
    );
    assert.throws(
      () => open(key, { iv: sealed.iv, data: sealed.data.subarray(1) }, 'tessera:test:1'),
      DecryptionError,
    );
    assert.throws(
      () => open(key, { iv: Buffer.alloc(0), data: sealed.data }, 'tessera:test:1'),
      DecryptionError,
    );
    assert.throws(
      () =>
        open(key, { iv: Buffer.concat([sealed.iv, Buffer.alloc(4)]), data: sealed.data }, 'tessera:test:1'),
      DecryptionError,
    );
  });

  test('the error message says nothing about the key or the plaintext', () => {
    try {
      open(randomBytes(32), sealed, 'tessera:test:1');
      assert.fail('no error');
    } catch (error) {
      assert.ok(error instanceof DecryptionError);
      assert.equal(error.name, 'DecryptionError');
      for (const form of [key.toString('hex'), key.toString('base64'), plaintext.toString('utf8')]) {
        assert.ok(!error.message.includes(form));
      }
    }
  });
});
