/**
 * The .env reader and writer of `tessera secrets import|export`: the forms users' files hold
 * (export prefixes, comments, both quotes, escapes, values over several lines), what is refused
 * (with its line), and that whatever is written reads back as it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDotenv, parseDotenv } from '../../src/cli/client/dotenv.js';
import { envNameOf, tagOf } from '../../src/cli/client/env-names.js';

test('reads plain, exported, quoted, escaped and multi-line values; skips comments and blank lines', () => {
  const text = [
    '# a comment',
    '',
    'PLAIN=hello world  # trailing comment',
    'export EXPORTED=yes',
    "SINGLE='no $expansion \\n here'",
    'DOUBLE="tab\\there \\"quoted\\" \\$HOME back\\\\slash"',
    'MULTI="line one',
    'line two"',
    "MULTI_SINGLE='a",
    "b'",
    'EMPTY=',
    'HASH="#not a comment"',
    'WINDOWS=crlf\r',
  ].join('\n');
  assert.deepEqual(parseDotenv(text), [
    { name: 'PLAIN', value: 'hello world' },
    { name: 'EXPORTED', value: 'yes' },
    { name: 'SINGLE', value: 'no $expansion \\n here' },
    { name: 'DOUBLE', value: 'tab\there "quoted" $HOME back\\slash' },
    { name: 'MULTI', value: 'line one\nline two' },
    { name: 'MULTI_SINGLE', value: 'a\nb' },
    { name: 'EMPTY', value: '' },
    { name: 'HASH', value: '#not a comment' },
    { name: 'WINDOWS', value: 'crlf' },
  ]);
});

test('refuses what is not NAME=value, naming the line', () => {
  assert.throws(() => parseDotenv('A=1\nnot a line\n'), /line 2: expected NAME=value/);
  assert.throws(() => parseDotenv('A=1\nB="open\nC=3\n'), /line 2: the quoted value is not closed/);
  assert.throws(() => parseDotenv('A="x" y\n'), /line 1: unexpected text after the closing quote/);
  assert.throws(() => parseDotenv('A="one\ntwo"\nbad\n'), /line 3: expected NAME=value/);
});

test('whatever is written reads back as it was', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          name: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/),
          value: fc.string({ unit: 'grapheme', maxLength: 60 }),
        }),
        { maxLength: 8 },
      ),
      (entries) => {
        const plain = entries.map(({ name, value }) => ({ name, value }));
        assert.deepEqual(parseDotenv(formatDotenv(plain)), plain);
      },
    ),
  );
  const awkward = [{ name: 'A', value: 'quote " dollar $X back \\ newline \n cr \r tab \t hash # \'' }];
  assert.deepEqual(parseDotenv(formatDotenv(awkward)), awkward);
});

test('a tag and its variable name map both ways', () => {
  assert.equal(envNameOf('db-password'), 'DB_PASSWORD');
  assert.equal(tagOf('DB_PASSWORD'), 'db-password');
  assert.equal(tagOf(envNameOf('api-key-2')), 'api-key-2');
});
