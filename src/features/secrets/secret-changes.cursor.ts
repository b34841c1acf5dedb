/**
 * The change feed's cursor, opaque to clients: base64url of `c1.<seq>`, where `seq` is the audit
 * sequence number the reader has seen up to (secret-changes.repository.ts). The version prefix lets
 * a later release change what a cursor holds and still recognise, and refuse, an old one.
 */

const PREFIX = 'c1.';
/** A sequence number as written: no sign, no leading zero, at most 15 digits (below 2^53). */
const SEQ = /^(?:0|[1-9][0-9]{0,14})$/;
/** base64url without padding, as encodeCursor writes it. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** The longest cursor encodeCursor writes (18 bytes of text), with room to spare for the schema. */
export const CURSOR_MAX = 64;

export function encodeCursor(seq: number): string {
  return Buffer.from(`${PREFIX}${seq}`, 'utf8').toString('base64url');
}

/** The sequence number a cursor holds; undefined for anything encodeCursor could not have written. */
export function decodeCursor(cursor: string): number | undefined {
  if (cursor.length > CURSOR_MAX || !BASE64URL.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  const digits = text.slice(PREFIX.length);
  if (!SEQ.test(digits)) return undefined;
  // Only the canonical spelling: a cursor is compared by what it holds, never by its text.
  return encodeCursor(Number(digits)) === cursor ? Number(digits) : undefined;
}
