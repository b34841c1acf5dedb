/** SPEC §7 tokens (src/crypto/tokens.ts) and resource ids (src/crypto/ids.ts). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { base62FromBigInt, base62FromBytes, base62FromNumber } from '../../src/crypto/base62.js';
import { crc32 } from '../../src/crypto/crc32.js';
import { generateId, looksLikeId } from '../../src/crypto/ids.js';
import {
  digestsEqual,
  generateToken,
  hashToken,
  isWellFormedToken,
  redactTokens,
} from '../../src/crypto/tokens.js';
import { percentEncodedForms } from '../helpers/keys.js';
import { TOKEN } from '../helpers/spec.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('tokens', () => {
  test('are tsk_ and 49 base62 characters, and well-formed', () => {
    for (let i = 0; i < 200; i++) {
      const token = generateToken();
      assert.match(token, TOKEN);
      assert.ok(isWellFormedToken(token), token);
    }
  });

  test('are random', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateToken()));
    assert.equal(tokens.size, 1000);
  });

  test('end in a 6-character base62 CRC-32 of what precedes it', () => {
    const token = generateToken();
    const body = token.slice(0, -6);
    assert.equal(token.slice(-6), base62FromBigInt(BigInt(crc32(body)), 6));
  });

  test('encode all 32 random bytes: the extremes are well-formed too', () => {
    for (const fill of [0x00, 0xff]) {
      const token = generateToken((size) => Buffer.alloc(size, fill));
      assert.match(token, TOKEN);
      assert.ok(isWellFormedToken(token));
    }
    assert.notEqual(
      generateToken((size) => Buffer.alloc(size, 1)),
      generateToken((size) => Buffer.alloc(size, 2)),
    );
  });

  test('the checksum catches every single-character change', () => {
    const token = generateToken();
    let checked = 0;
    for (let i = 4; i < token.length; i++) {
      for (const c of BASE62) {
        if (c === token[i]) continue;
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        assert.equal(isWellFormedToken(changed), false, `position ${i} → ${c}`);
        checked += 1;
      }
    }
    assert.equal(checked, 49 * 61);
  });

  test('anything of the wrong shape is refused', () => {
    const token = generateToken();
    for (const bad of [
      '',
      'tsk_',
      token.slice(0, -1),
      `${token}0`,
      `gsk_${token.slice(4)}`,
      `TSK_${token.slice(4)}`,
      ` ${token}`,
      `${token.slice(0, 10)}-${token.slice(11)}`,
      `${token.slice(0, 10)}é${token.slice(11)}`,
      token.replace('tsk_', 'tsk-'),
    ]) {
      assert.equal(isWellFormedToken(bad), false, JSON.stringify(bad));
    }
  });

  test('hashToken is the SHA-256 hex of the token', () => {
    const token = generateToken();
    assert.equal(hashToken(token), createHash('sha256').update(token).digest('hex'));
    assert.match(hashToken(token), /^[0-9a-f]{64}$/);
    assert.notEqual(hashToken(token), hashToken(generateToken()));
  });

  test('redactTokens replaces a token, percent-encoded in part or whole, with the whole encoded span', () => {
    const token = generateToken();
    for (const form of [token, ...percentEncodedForms(token)]) {
      assert.equal(redactTokens(`/nope/${form}/x`), '/nope/tsk_[redacted]/x', form);
      assert.equal(redactTokens(`/100%/%zz/${form}`), '/100%/%zz/tsk_[redacted]', 'a stray % is kept');
    }
    // What decodes to no token is left as it is: too short, another prefix, another case, `%2574`.
    for (const text of [
      `/nope/tsk%5F${token.slice(4, 19)}`,
      `/nope/TSK%5F${token.slice(4)}`,
      `/nope/tsk%2D${token.slice(4)}`,
      `/nope/%2574sk_${token.slice(4)}`.replace('sk_', 'sk-'),
      '/nope/100%25',
    ]) {
      assert.equal(redactTokens(text), text);
    }
  });

  test('digestsEqual compares hex digests', () => {
    const a = hashToken('a');
    assert.equal(digestsEqual(a, hashToken('a')), true);
    assert.equal(digestsEqual(a, hashToken('b')), false);
    assert.equal(digestsEqual(a, a.slice(0, 62)), false);
    assert.equal(digestsEqual(a, ''), false);
  });
});

describe('base62 and CRC-32', () => {
  test('CRC-32 matches the standard check value', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32(''), 0);
    assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  });

  test('CRC-32 of a text is the CRC-32 of its UTF-8 bytes, ASCII or not', () => {
    for (const text of ['tsk_abc', 'h\u00e9llo', 'emoji \u{1F511}', '\u007f\u0080', 'a\uD800b']) {
      assert.equal(crc32(text), crc32(Buffer.from(text, 'utf8')), JSON.stringify(text));
    }
  });

  test('base62FromNumber writes what base62FromBigInt writes', () => {
    for (const value of [0, 1, 61, 62, 3843, 3844, 0xcbf43926, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]) {
      assert.equal(base62FromNumber(value, 9), base62FromBigInt(BigInt(value), 9), String(value));
    }
    assert.throws(() => base62FromNumber(62 ** 3, 3), RangeError);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53])
      assert.throws(() => base62FromNumber(bad, 9), RangeError);
  });

  test('base62 pads to width and refuses what does not fit', () => {
    assert.equal(base62FromBigInt(0n, 3), '000');
    assert.equal(base62FromBigInt(61n, 2), '0z');
    assert.equal(base62FromBigInt(62n, 2), '10');
    assert.equal(base62FromBigInt(2n ** 32n - 1n, 6), '4gfFC3');
    assert.throws(() => base62FromBigInt(62n ** 3n, 3), RangeError);
    assert.equal(base62FromBytes(Buffer.alloc(32, 0xff)).length, 43);
    assert.equal(base62FromBytes(Buffer.alloc(32, 0)), '0'.repeat(43));
  });
});

describe('ids', () => {
  test('are a prefix and 16 lowercase hex digits, random', () => {
    for (const prefix of ['ak', 'se'] as const) {
      const ids = Array.from({ length: 200 }, () => generateId(prefix));
      for (const id of ids) {
        assert.match(id, new RegExp(`^${prefix}[0-9a-f]{16}$`));
        assert.ok(looksLikeId(prefix, id));
      }
      assert.equal(new Set(ids).size, ids.length);
    }
  });

  test('looksLikeId is exact', () => {
    assert.ok(looksLikeId('se', 'se0123456789abcdef'));
    for (const value of [
      'se0123456789ABCDEF',
      'se0123456789abcde',
      'se0123456789abcdef0',
      'ak0123456789abcdef',
      'db-password',
    ]) {
      assert.equal(looksLikeId('se', value), false, value);
    }
  });
});
