/**
 * Hostile text for the API fuzzer: the strings that break parsers, databases, loggers and
 * templates. Each list is small and named by what it attacks; `hostileString` mixes them with
 * generated text (control characters, odd Unicode, lone surrogates) and sizes from empty to huge.
 */
import fc from 'fast-check';

/** SQL, NoSQL, path traversal, format strings, templates, header and log injection. */
export const INJECTIONS: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE api_keys; --",
  '" OR 1=1 --',
  "1' UNION SELECT token_hash FROM api_keys --",
  "' || pg_sleep(0) || '",
  "admin'--",
  '%',
  '_',
  '\\',
  '{"$ne": null}',
  '{"$gt": ""}',
  '$where',
  '../../../../etc/passwd',
  '..\\..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2f',
  '....//....//',
  '%s%s%s%s%n',
  '%x%x%x%x',
  '{0}{1}',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as is
  '${7*7}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as is
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
  'line\r\nX-Injected: 1',
  '\n{"level":60,"msg":"forged log line"}',
  'null',
  'undefined',
  'NaN',
  'true',
  '0',
  '-1',
  '1e309',
  '__proto__',
  'constructor',
  'prototype',
  'tsk_',
  'Bearer ',
];

/** Characters that trip up text handling: controls, invisible, bidi, surrogates, non-characters. */
export const ODD_CHARACTERS: readonly string[] = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u00ad',
  '\u200b',
  '\u200d',
  '\u202e',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u{1f600}',
  '\u{1f469}\u200d\u{1f4bb}',
  'e\u0301\u0301\u0301\u0301',
  '\u0130',
  '\u00df',
  '\u{10ffff}',
  '\u{e0041}',
];

const oddCharacter = fc.constantFrom(...ODD_CHARACTERS);

/** Short text in which odd characters are mixed with ordinary ones. */
const oddText = fc
  .array(fc.oneof(oddCharacter, fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(''));

/** Sizes around every limit the API has (names 1 KiB, values 64 KiB) and well past them. */
const HUGE_SIZES = [257, 1025, 4097, 65_537, 100 * 1024] as const;

/** One character repeated to a size around or past a limit. */
const hugeString = fc
  .tuple(fc.constantFrom(...HUGE_SIZES), fc.constantFrom('a', ' ', '\u00e9', '\u{1f600}', '\u0000', '%'))
  .map(([size, unit]) => unit.repeat(Math.ceil(size / unit.length)));

/** Any text the fuzzer sends where a string goes: ordinary, hostile, empty, blank or huge. */
export function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 3, arbitrary: fc.constantFrom(...INJECTIONS) },
    { weight: 3, arbitrary: oddText },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '   \t\n ') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: hugeString },
  );
}

/**
 * Text that looks like what a field usually holds, so that hostile content also reaches the
 * handlers and the database inside otherwise valid requests.
 */
export function plausibleString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
    { weight: 2, arbitrary: fc.constantFrom(...INJECTIONS) },
    { weight: 2, arbitrary: oddText },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: isoDateTime() },
  );
}

/** ISO 8601 date-times, past and future, with and without a zone, plus near misses. */
export function isoDateTime(): fc.Arbitrary<string> {
  const instant = fc.date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('2200-01-01T00:00:00Z'),
    noInvalidDate: true,
  });
  return fc.oneof(
    instant.map((d) => d.toISOString()),
    instant.map((d) => d.toISOString().slice(0, 19)),
    instant.map((d) => d.toISOString().slice(0, 10)),
    instant.map((d) => d.toISOString().replace('Z', '+05:30')),
    fc.constantFrom('2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '0000-01-01'),
  );
}
