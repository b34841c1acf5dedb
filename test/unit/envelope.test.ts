/**
 * src/crypto/envelope.ts: a fresh data key per value version, wrapped by the master key, both
 * layers bound to the secret id and version (SPEC §7).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { DecryptionError } from '../../src/crypto/aes-gcm.js';
import { decryptValue, type Envelope, encryptValue, rewrapDataKey } from '../../src/crypto/envelope.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';

const master = masterKeyFrom(randomBytes(32));
const other = masterKeyFrom(randomBytes(32));
const ID = 'se0123456789abcdef';
const OTHER_ID = 'se0123456789abcdee';

describe('encryptValue and decryptValue', () => {
  test('round trip: ASCII, multi-byte UTF-8, 64 KiB', () => {
    for (const value of ['x', 'pässwörd 🔑 пароль', 'z'.repeat(64 * 1024)]) {
      const envelope = encryptValue(master, value, ID, 3);
      assert.equal(decryptValue(master, envelope, ID, 3), value);
    }
  });

  test('the envelope names its master key and holds no plaintext', () => {
    const envelope = encryptValue(master, 'plain text here', ID, 1);
    assert.equal(envelope.masterKeyId, master.id);
    assert.match(master.id, /^mk[0-9a-f]{16}$/);
    assert.ok(!envelope.value.data.includes(Buffer.from('plain text here')));
    // A wrapped 32-byte data key: 32 bytes and a 16-byte tag.
    assert.equal(envelope.wrappedKey.data.length, 48);
  });

  test('a fresh data key each time: equal values give unrelated envelopes', () => {
    const a = encryptValue(master, 'same', ID, 1);
    const b = encryptValue(master, 'same', ID, 1);
    assert.notDeepEqual(a.wrappedKey.data, b.wrappedKey.data);
    assert.notDeepEqual(a.value.data, b.value.data);
    // Each data key opens only its own value.
    const mixed: Envelope = { ...a, value: b.value };
    assert.throws(() => decryptValue(master, mixed, ID, 1), DecryptionError);
  });

  test('another secret id: DecryptionError', () => {
    const envelope = encryptValue(master, 'bound to its id', ID, 1);
    assert.throws(() => decryptValue(master, envelope, OTHER_ID, 1), DecryptionError);
  });

  test('another version: DecryptionError', () => {
    const envelope = encryptValue(master, 'bound to its version', ID, 2);
    for (const version of [1, 3, 12, 21]) {
      assert.throws(() => decryptValue(master, envelope, ID, version), DecryptionError, `version ${version}`);
    }
  });

  test('id and version cannot be traded against each other', () => {
    // "se…1" version 12 and "se…11" version 2 must not share additional data.
    const envelope = encryptValue(master, 'v', 'se000000000000001', 12);
    assert.throws(() => decryptValue(master, envelope, 'se0000000000000011', 2), DecryptionError);
  });

  test('another master key: DecryptionError', () => {
    const envelope = encryptValue(master, 'wrong key', ID, 1);
    assert.throws(() => decryptValue(other, envelope, ID, 1), DecryptionError);
  });

  test('a wrapped key moved to another secret or version: DecryptionError', () => {
    const a = encryptValue(master, 'a', ID, 1);
    const b = encryptValue(master, 'b', OTHER_ID, 1);
    assert.throws(
      () => decryptValue(master, { ...b, wrappedKey: a.wrappedKey }, OTHER_ID, 1),
      DecryptionError,
    );
    assert.throws(() => decryptValue(master, a, OTHER_ID, 1), DecryptionError);
  });
});

describe('rewrapDataKey', () => {
  test('after re-wrapping, the new key decrypts and the old key no longer does', () => {
    const envelope = encryptValue(master, 'rotated value', ID, 4);
    const wrappedKey = rewrapDataKey(master, other, envelope.wrappedKey, ID, 4);
    const rewrapped: Envelope = { value: envelope.value, wrappedKey, masterKeyId: other.id };
    assert.equal(decryptValue(other, rewrapped, ID, 4), 'rotated value');
    assert.throws(() => decryptValue(master, rewrapped, ID, 4), DecryptionError);
    assert.notDeepEqual(wrappedKey.data, envelope.wrappedKey.data);
  });

  test('the value ciphertext is untouched: only the data key is re-wrapped', () => {
    const envelope = encryptValue(master, 'untouched', ID, 1);
    const before = Buffer.from(envelope.value.data);
    rewrapDataKey(master, other, envelope.wrappedKey, ID, 1);
    assert.deepEqual(envelope.value.data, before);
  });

  test('refuses with the wrong "from" key, or the wrong id or version', () => {
    const envelope = encryptValue(master, 'x', ID, 1);
    assert.throws(() => rewrapDataKey(other, master, envelope.wrappedKey, ID, 1), DecryptionError);
    assert.throws(() => rewrapDataKey(master, other, envelope.wrappedKey, OTHER_ID, 1), DecryptionError);
    assert.throws(() => rewrapDataKey(master, other, envelope.wrappedKey, ID, 2), DecryptionError);
  });

  test('re-wrapping keeps the binding: the re-wrapped key still fails for another id', () => {
    const envelope = encryptValue(master, 'x', ID, 1);
    const wrappedKey = rewrapDataKey(master, other, envelope.wrappedKey, ID, 1);
    assert.throws(
      () => decryptValue(other, { value: envelope.value, wrappedKey, masterKeyId: other.id }, OTHER_ID, 1),
      DecryptionError,
    );
  });
});
