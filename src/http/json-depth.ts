/**
 * No request body of this API nests deeper than a few levels; a body of `[[[[…]]]]` a million
 * levels deep costs JSON.parse (and the garbage collector) hundreds of milliseconds of the event
 * loop, even in a field the schema then strips. Such bodies are refused before they are parsed,
 * by one pass over the bytes that stops at the first level too many: a refusal costs less than
 * parsing a flat body of the same size.
 */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether the JSON text in `bytes` opens more than `limit` arrays and objects inside one another.
 * Brackets inside strings do not count. Exact for valid JSON; for anything else the answer does
 * not matter, since JSON.parse refuses it next. UTF-8 multi-byte sequences never contain these
 * ASCII bytes, so the bytes can be read without decoding them.
 */
export function nestedDeeperThan(bytes: Uint8Array, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i = closingQuote(bytes, i + 1);
      if (i === -1) return false;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      depth += 1;
      if (depth > limit) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * The index of the quote that ends the string whose contents start at `from`, or -1 if none does.
 * A quote ends it unless an odd number of backslashes precedes it (`\"` is a quote inside the
 * string, `\\"` a backslash and the end). indexOf finds quotes natively, so a long string value
 * costs little more than a memchr.
 */
function closingQuote(bytes: Uint8Array, from: number): number {
  let at = bytes.indexOf(QUOTE, from);
  while (at !== -1) {
    let backslashes = 0;
    while (at - backslashes - 1 >= from && bytes[at - backslashes - 1] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
    at = bytes.indexOf(QUOTE, at + 1);
  }
  return -1;
}
