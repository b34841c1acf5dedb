/**
 * Request bodies for one operation, as fast-check arbitraries: conforming or mutated JSON (from
 * the operation's schema and known-good examples), other JSON, malformed or absurdly deep JSON,
 * text that is not UTF-8, other content types or none, no body, and huge bodies around the 2 MB
 * limit. Operations without a body get mostly none, sometimes one nobody asked for.
 */
import fc from 'fast-check';
import type { FuzzOperation } from './fuzz-openapi.js';
import type { RequestOptions } from './fuzz-requests.js';
import { anyJson, conforming, type JsonSchema, mutated, varied } from './fuzz-schema.js';
import { plausibleString } from './fuzz-strings.js';

export interface Body {
  body: string | Buffer | undefined;
  /** The Content-Type header; none when unset. */
  contentType: string | undefined;
  /** What was generated, for reports: 'conforming JSON', 'malformed or deep JSON', ... */
  kind: string;
}

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json;charset=UTF-8',
];
const OTHER_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----fuzz',
  'application/xml',
  'text/xml',
  'application/yaml',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/problem+json',
  'text/json',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json;;',
  'application/json; boundary=x',
  'application/json, text/plain',
  'application/*',
  '*/*',
  ';',
  'x',
  '',
];

const jsonType = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/json') },
  fc.constantFrom(...JSON_TYPES),
);

/** Text that is almost JSON, not JSON at all, not even UTF-8, or JSON nested absurdly deep. */
function hostileJsonText(text: string): fc.Arbitrary<string | Buffer> {
  return fc.oneof(
    fc.nat({ max: Math.max(text.length - 1, 0) }).map((cut) => text.slice(0, cut)),
    fc.constantFrom(',', '}', ']', 'x', '{"a":1}', '\u0000').map((tail) => text + tail),
    fc.constant(text.replaceAll('"', "'")),
    fc.constant(`\ufeff${text}`),
    fc.constant(`/* comment */${text}`),
    fc.constant(text.replace(/}$/, ',}')),
    fc.constantFrom(
      '{',
      '[',
      '"',
      '{"a":}',
      '{"a" 1}',
      'NaN',
      'undefined',
      "{'a':1}",
      '{a:1}',
      '[1,]',
      '01',
      '"\\x41"',
      '{"a":"\u0000\u001f"}',
      '{"__proto__":{"isAdmin":true}}',
      '{"constructor":{"prototype":{"isAdmin":true}}}',
      '{"a":1,"a":2}',
    ),
    fc.constantFrom(1_000, 100_000).map((depth) => '['.repeat(depth)),
    // Well-formed but deeper than any parser recursion should go.
    fc.constantFrom(10_000, 100_000).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
    fc.constant(`${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`),
    fc.constant(Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d])),
    fc.constant(Buffer.from(text, 'utf16le')),
    fc.constant(Buffer.from(`\ufeff${text}`, 'utf16le')),
  );
}

/** The same content in another format, sent with another content type (or none). */
function otherFormat(text: string): fc.Arbitrary<Body> {
  const formats = fc.constantFrom(
    text,
    'name=fuzz&roles=ADMIN&secret=x&tag=t',
    '<key><name>fuzz</name><roles><role>ADMIN</role></roles></key>',
    'name: fuzz\nroles:\n  - type: DEFAULT\n    role: ADMIN\n',
    '------fuzz\r\nContent-Disposition: form-data; name="name"\r\n\r\nfuzz\r\n------fuzz--\r\n',
  );
  return fc.oneof(
    fc
      .tuple(formats, fc.constantFrom(...OTHER_TYPES))
      .map(([body, contentType]) => ({ body, contentType, kind: `a ${contentType || 'blank'} body` })),
    formats.map((body) => ({ body, contentType: undefined, kind: 'a body without a content type' })),
  );
}

function noBody(): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant({ body: undefined, contentType: undefined, kind: 'no body' }) },
    fc
      .constantFrom('', '  \n')
      .map((body) => ({ body, contentType: 'application/json', kind: 'an empty JSON body' })),
    fc.constant({ body: '', contentType: 'application/yaml', kind: 'an empty YAML body' }),
  );
}

function hugeBody(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  return fc.oneof(
    // A 100 KB string in a field, the rest conforming.
    valid.map((object) => ({
      body: JSON.stringify(
        typeof object === 'object' && object !== null && !Array.isArray(object)
          ? Object.fromEntries(
              Object.entries(object).map(([k, v]) => [k, typeof v === 'string' ? 'x'.repeat(100 * 1024) : v]),
            )
          : 'x'.repeat(100 * 1024),
      ),
      contentType: 'application/json',
      kind: 'a 100 KB field',
    })),
    // Past 1 MiB but within the 2 MB limit; then past the limit.
    fc
      .tuple(valid, fc.constantFrom(1_536 * 1024, 2 * 1024 * 1024 + 1, 3 * 1024 * 1024))
      .map(([object, size]) => {
        const text = JSON.stringify(object);
        return {
          body: text + ' '.repeat(Math.max(size - Buffer.byteLength(text), 0)),
          contentType: 'application/json',
          kind: `a ${size}-byte body`,
        };
      }),
    fc.constant({
      body: Buffer.alloc(2 * 1024 * 1024 + 1, 0x61),
      contentType: 'text/plain',
      kind: 'a 2 MB+1 text/plain body',
    }),
  );
}

function bodyFor(operation: FuzzOperation, options: RequestOptions): fc.Arbitrary<Body> {
  if (operation.body === undefined) {
    // Bodies nobody asked for: Cortex's clients send `{}` with a DELETE, others send worse.
    return fc.oneof(
      { weight: 8, arbitrary: noBody() },
      {
        weight: 1,
        arbitrary: fc.constant({ body: '{}', contentType: 'application/json', kind: 'an unexpected {}' }),
      },
      {
        weight: 1,
        // Small ones only: GET bodies are not read at all, and a large unread body makes the
        // server's close reset the connection under its own answer (a transport artifact).
        arbitrary: hostileJsonText('{}')
          .filter((body) => body.length <= 4_096)
          .map((body) => ({
            body,
            contentType: 'application/json',
            kind: 'unexpected malformed or deep JSON',
          })),
      },
      { weight: 1, arbitrary: otherFormat('{}') },
    );
  }
  const schema: JsonSchema = operation.body.schema;
  const examples =
    options.examples ?? (Array.isArray(schema.examples) ? fc.constantFrom(...schema.examples) : undefined);
  const conformingBody = conforming(schema);
  const valid =
    examples === undefined
      ? conformingBody
      : fc.oneof(
          conformingBody,
          examples.chain((e) => varied(e, plausibleString())),
        );
  const json = (kind: string, value: fc.Arbitrary<unknown>) =>
    fc.tuple(value, jsonType).map(([v, contentType]) => ({ body: JSON.stringify(v), contentType, kind }));
  return fc.oneof(
    { weight: 6, arbitrary: json('conforming JSON', valid) },
    { weight: 5, arbitrary: json('mutated JSON', mutated(schema)) },
    { weight: 1, arbitrary: json('other JSON', anyJson()) },
    {
      weight: 2,
      arbitrary: valid
        .chain((v) => hostileJsonText(JSON.stringify(v)))
        .map((body) => ({ body, contentType: 'application/json', kind: 'malformed or deep JSON' })),
    },
    { weight: 2, arbitrary: valid.chain((v) => otherFormat(JSON.stringify(v))) },
    { weight: 1, arbitrary: noBody() },
    { weight: 1, arbitrary: hugeBody(valid) },
  );
}

/** JSON text escapes exactly these (JSON.stringify writes paired surrogates as they are). */
const ESCAPED = {
  nulInJson: /\\u0000/,
  loneSurrogateInJson: /\\ud[89a-f][0-9a-f]{2}/i,
} as const;

/** Bodies for `operation`, less those holding what `options.omit` leaves out. */
export function bodiesFor(operation: FuzzOperation, options: RequestOptions): fc.Arbitrary<Body> {
  return bodyFor(operation, options).filter(({ body }) => {
    if (typeof body !== 'string') return true;
    return !(Object.keys(ESCAPED) as (keyof typeof ESCAPED)[]).some(
      (kind) => options.omit?.has(kind) === true && ESCAPED[kind].test(body),
    );
  });
}
