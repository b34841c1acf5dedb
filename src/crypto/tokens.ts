import { randomBytes } from 'node:crypto';
import { base62FromBytes, base62FromNumber } from './base62.js';
import { crc32 } from './crc32.js';
import { sha256Hex } from './sha256.js';

/**
 * API tokens follow GitHub's scheme: a recognisable prefix, 32 random bytes in base62 and a
 * 6-character base62 CRC-32 of everything before it. The checksum lets us refuse mistyped or
 * made-up tokens before touching storage, and lets secret scanners recognise leaked ones.
 */
export const TOKEN_PREFIX = 'tsk_';
const RANDOM_BYTES = 32;
const RANDOM_CHARS = 43; // ceil(256 / log2(62))
const CHECKSUM_CHARS = 6; // 62^6 > 2^32
export const TOKEN_LENGTH = TOKEN_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS;
const TOKEN_SHAPE = new RegExp(`^${TOKEN_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);

/**
 * One character of a token as it may reach us in a URL: itself, or percent-encoded (`%5F` or
 * `%5f` for `_`). Only ASCII escapes can stand for a token's characters, so matching them here is
 * exactly matching the percent-decoded text, without decoding it (`decodeURIComponent` throws on
 * a stray `%`) and with the whole encoded span replaced. Digits are %30-%39, A-Z %41-%5A, a-z
 * %61-%7A.
 */
const ESCAPED_ALNUM = '%(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])';
function spelled(char: string): string {
  const hex = char.charCodeAt(0).toString(16).toUpperCase();
  return `(?:${char}|%${hex[0]}[${hex[1]}${hex[1]?.toLowerCase()}])`;
}
const ENCODED_PREFIX = [...TOKEN_PREFIX].map(spelled).join('');

/** Anything that looks like a token, valid or not: long enough to be one, or most of one. */
const TOKEN_LIKE = new RegExp(`${ENCODED_PREFIX}(?:[0-9A-Za-z]|${ESCAPED_ALNUM}){16,}`, 'g');

/**
 * Text with every token-like run replaced by `tsk_[redacted]`: for anything a client put in a
 * URL that goes back out in an error, a log line or an audit record. A token pasted into a path
 * by mistake must not be written anywhere, percent-encoded (`tsk%5F…`, `%74sk_…`) or not.
 * Text with neither the prefix nor a `%` cannot hold one, and is returned as it is.
 */
export function redactTokens(text: string): string {
  return text.includes(TOKEN_PREFIX) || text.includes('%')
    ? text.replace(TOKEN_LIKE, `${TOKEN_PREFIX}[redacted]`)
    : text;
}

function checksum(body: string): string {
  return base62FromNumber(crc32(body), CHECKSUM_CHARS);
}

export function generateToken(random: (size: number) => Uint8Array = randomBytes): string {
  const body = TOKEN_PREFIX + base62FromBytes(random(RANDOM_BYTES));
  return body + checksum(body);
}

/** True when the token has the right shape and its checksum matches. Never touches storage. */
export function isWellFormedToken(token: string): boolean {
  if (token.length !== TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return false;
  return sameChars(checksum(token.slice(0, -CHECKSUM_CHARS)), token.slice(-CHECKSUM_CHARS));
}

/** What storage keeps of a token: its SHA-256, hex. The token itself is never stored. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * Whether two strings of public length are equal, without an early exit at the first difference:
 * every character is compared, as text. Only for values whose length is no secret (a digest is 64
 * hex characters, a checksum 6), since a length difference returns at once. Runs on every request,
 * where comparing through two more digests and four buffers cost about 2 µs.
 */
function sameChars(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/**
 * Constant-time comparison of two hex digests, as text: decoding first would let two different
 * strings that are not hex (both decoding to nothing) compare equal. A digest's length is public.
 */
export function digestsEqual(a: string, b: string): boolean {
  return sameChars(a, b);
}
