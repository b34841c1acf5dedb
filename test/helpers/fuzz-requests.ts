/**
 * Requests for one operation of the OpenAPI document, as fast-check arbitraries: path parameters
 * (known identifiers, near misses and junk), query strings (declared parameters conforming or
 * broken, unknown, repeated, badly encoded), headers (the admin token or a junk Authorization,
 * odd user agents), and bodies (fuzz-bodies.ts). A generated request names its path values by pool index; `resolveRequest` turns
 * it into bytes on the wire once the pools are known.
 */
import fc from 'fast-check';
import { generateToken } from '../../src/crypto/tokens.js';
import { bodiesFor } from './fuzz-bodies.js';
import type { RawRequest } from './fuzz-http.js';
import type { FuzzOperation, FuzzParameter } from './fuzz-openapi.js';
import { placeholdersOf } from './fuzz-openapi.js';
import type { IdentifierPool } from './fuzz-pools.js';
import { conforming, mutated } from './fuzz-schema.js';
import { hostileString, INJECTIONS } from './fuzz-strings.js';
import { MALFORMED_AUTHORIZATION } from './security.js';

export type PathValue =
  | { kind: 'known'; index: number; prefix: string; suffix: string }
  | { kind: 'junk'; text: string };

export type Authorization =
  | { kind: 'admin' }
  | { kind: 'junk'; label: string; header: (adminToken: string) => string | undefined };

export interface FuzzRequest {
  operation: FuzzOperation;
  path: Record<string, PathValue>;
  /** Appended to the path: '' mostly, sometimes '/', '//' or '/..'. */
  trailing: string;
  /** '' or '?…', percent-encoded as it goes on the wire. */
  query: string;
  authorization: Authorization;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  /** What was generated for the body, for reports: 'conforming JSON', 'malformed JSON', ... */
  bodyKind: string;
}

/** Percent-encodes every byte of the UTF-8 form except RFC 3986's unreserved characters. */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** As much of `value`, percent-encoded, as fits in `max` characters (never half an escape). */
function encodedWithin(value: string, max: number): string {
  let out = '';
  for (const char of value) {
    const encoded = percentEncode(char);
    if (out.length + encoded.length > max) break;
    out += encoded;
  }
  return out;
}

/** Text node:http will put in a header: tab, printable ASCII and Latin-1 (obs-text). */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
  .map((code) => String.fromCharCode(code));
const headerText = (maxLength: number) => fc.string({ unit: headerChar, maxLength });

/** Escapes that decode to something nasty (NUL, a slash, a backslash, bidi override). */
const NASTY_ESCAPES = ['%00', '%2F', '%2f', '%5C', '%E2%80%AE'];

/**
 * Path junk by kind. Some kinds meet known, open bugs (see the todo tests); `RequestOptions.omit`
 * leaves those out of the main run so that it can still find everything else.
 */
export const PATH_JUNK = {
  /** Traversal, separators and escapes that decode fine. */
  odd: ['', '.', '..', '%2e%2e', '%2E', '..%2F..%2F', 'a%2Fb', 'a/b', '~', '%20', '+', ...NASTY_ESCAPES],
  /** Percent-escapes that are not valid UTF-8 percent-encoding. */
  badEscapes: ['%', '%%', '%zz', '%0', '%C0%AF', '%FF%FE', '%ED%A0%80'],
  /** Latin-1 bytes, raw on the wire: not UTF-8, not even legal in a request line. */
  rawBytes: ['\xff', 'caf\xe9', '\xc0\xaf'],
  /** Longer than any identifier, and than the router's 200-character parameter limit. */
  longParams: ['a'.repeat(201), 'a'.repeat(256), 'a'.repeat(3_000)],
} as const;
export type PathJunkKind = keyof typeof PATH_JUNK;

/** What a run may leave out: kinds of path junk, and NUL or lone surrogates in JSON strings. */
export type OmittedKind = PathJunkKind | 'nulInJson' | 'loneSurrogateInJson';

export interface RequestOptions {
  /** Kinds of input to leave out (see the open bugs in test/fuzz/). */
  omit?: ReadonlySet<OmittedKind>;
  /**
   * Known-good bodies for the operation. A schema says what is well-formed, not what succeeds
   * (a DEFAULT role needs `role`; a tag must be new): varied examples reach the success paths.
   * The body schema's own `examples` are used when this is unset.
   */
  examples?: fc.Arbitrary<unknown>;
  /**
   * Values for some query parameters instead of the ones drawn from their schemas: known-good
   * values a schema cannot produce (a cursor the server wrote), or bounds tighter than the
   * schema's where a valid value costs time (a long poll's wait). Include invalid ones too.
   */
  queryValues?: Readonly<Record<string, fc.Arbitrary<string>>>;
}

// ---------------------------------------------------------------------------------------------
// Path

function pathValue(options: RequestOptions): fc.Arbitrary<PathValue> {
  const hex16 = fc.stringMatching(/^[0-9a-f]{16}$/);
  const kinds = (Object.keys(PATH_JUNK) as PathJunkKind[]).filter((kind) => options.omit?.has(kind) !== true);
  const junk = fc.oneof(
    ...kinds.map((kind) => fc.constantFrom(...PATH_JUNK[kind])),
    // Encoded to at most 200 characters: longer is the `longParams` kind.
    hostileString().map((s) => encodedWithin(s, 200)),
    fc.constantFrom(63, 64, 65, 128, 129, 199, 200).map((n) => 'a'.repeat(n)),
    // Look-alike identifiers that exist nowhere.
    hex16.map((h) => `ak${h}`),
    hex16.map((h) => `se${h}`),
    hex16.map((h) => `AK${h.toUpperCase()}`),
  );
  const known = fc.record({
    kind: fc.constant('known' as const),
    index: fc.nat({ max: 1_000 }),
    prefix: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, fc.constantFrom('%20', '.', '%00', '%09')),
    suffix: fc.oneof(
      { weight: 6, arbitrary: fc.constant('') },
      fc.constantFrom('%00', '%20', '/', '%2F', '..', 'x', '%0A', '%E2%80%8B'),
    ),
  });
  return fc.oneof(
    { weight: 3, arbitrary: known },
    { weight: 2, arbitrary: junk.map((text) => ({ kind: 'junk' as const, text })) },
  );
}

// ---------------------------------------------------------------------------------------------
// Query

/** A value as query-string text: strings as they are, anything else as JSON. */
const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** A declared parameter's value as text: conforming to its schema, or not. */
function queryValue(parameter: FuzzParameter): fc.Arbitrary<string> {
  const weirdNumbers = fc.constantFrom(
    '1e2',
    '0x10',
    ' 5',
    '5 ',
    '+1',
    '-0',
    '1.0',
    '1.5',
    'Infinity',
    'NaN',
    '99999999999999999999',
    '',
    'True',
    'FALSE',
    'null',
  );
  return fc.oneof(
    { weight: 3, arbitrary: conforming(parameter.schema).map(asText) },
    { weight: 1, arbitrary: mutated(parameter.schema).map(asText) },
    { weight: 1, arbitrary: weirdNumbers },
    { weight: 1, arbitrary: hostileString().map((s) => s.slice(0, 2000)) },
  );
}

/** One `name=value` pair, encoded, or encoded badly on purpose. */
function pair(name: string, value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: value.map((v) => `${percentEncode(name)}=${percentEncode(v)}`) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...NASTY_ESCAPES, ...PATH_JUNK.badEscapes)
        .map((e) => `${percentEncode(name)}=${e}`),
    },
    { weight: 1, arbitrary: fc.constantFrom(percentEncode(name), `${percentEncode(name)}=`) },
  );
}

/**
 * Characters of query string at most: with the longest Authorization and User-Agent headers the
 * fuzzer sends, the request stays under Node's 16 KB header limit (past it is an open bug, see
 * fuzz-open-bugs.ts).
 */
const QUERY_MAX = 5_000;

function queryString(operation: FuzzOperation, options: RequestOptions): fc.Arbitrary<string> {
  const declared = operation.parameters.filter((p) => p.in === 'query');
  const valuesFor = (p: FuzzParameter) => options.queryValues?.[p.name] ?? queryValue(p);
  const pairs = declared.map((p) => fc.option(pair(p.name, valuesFor(p)), { nil: undefined, freq: 2 }));
  const extras = fc.array(
    fc.oneof(
      pair('x', fc.constantFrom(...INJECTIONS)),
      fc.constantFrom(
        '__proto__=1',
        'constructor=x',
        '__proto__[admin]=1',
        '=1',
        '&',
        'a[]=1&a[]=2',
        ';',
        '%00=%00',
      ),
      // A declared parameter twice (an array after parsing).
      ...declared.map((p) => pair(p.name, valuesFor(p)).map((s) => `${s}&${s}`)),
      fc.constant(`pad=${'q'.repeat(3000)}`),
    ),
    { maxLength: 2 },
  );
  // Often none of the declared parameters, so that calls with many filters still succeed at times.
  const chosen = fc.oneof(fc.constant([] as (string | undefined)[]), fc.tuple(...pairs), fc.tuple(...pairs));
  return fc.tuple(chosen, extras, fc.constantFrom('?', '?', '?', '??', '?&')).map(([chosen, extra, mark]) => {
    const all: string[] = [];
    let length = 0;
    for (const p of [...chosen, ...extra]) {
      if (p === undefined || length + p.length > QUERY_MAX) continue;
      all.push(p);
      length += p.length + 1;
    }
    return all.length === 0 ? (mark === '?&' ? '?' : '') : `${mark}${all.join('&')}`;
  });
}

// ---------------------------------------------------------------------------------------------
// Authorization and other headers

function authorization(): fc.Arbitrary<Authorization> {
  const junk: fc.Arbitrary<Authorization> = fc.oneof(
    fc.constant({ kind: 'junk' as const, label: 'no Authorization header', header: () => undefined }),
    fc.constant({ kind: 'junk' as const, label: 'an empty Authorization header', header: () => '' }),
    fc
      .constantFrom(...MALFORMED_AUTHORIZATION)
      .map(([label, header]) => ({ kind: 'junk' as const, label, header })),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => {
      const token = generateToken(() => bytes);
      return { kind: 'junk' as const, label: `an unknown token ${token}`, header: () => `Bearer ${token}` };
    }),
    headerText(60).map((text) => ({
      kind: 'junk' as const,
      label: `Bearer ${JSON.stringify(text)}`,
      header: () => `Bearer ${text}`,
    })),
    headerText(60).map((text) => ({
      kind: 'junk' as const,
      label: JSON.stringify(text),
      header: () => text,
    })),
    fc.constant({
      kind: 'junk' as const,
      label: 'a 6 KB token',
      header: () => `Bearer ${'A'.repeat(6_000)}`,
    }),
    fc.constant({
      kind: 'junk' as const,
      label: 'the admin token with a Latin-1 byte appended',
      header: (admin: string) => `Bearer ${admin}\xe9`,
    }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant({ kind: 'admin' as const }) },
    { weight: 1, arbitrary: junk },
  );
}

function extraHeaders(): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      'user-agent': fc.oneof(
        headerText(80),
        fc.constant('u'.repeat(2_000)),
        fc.constantFrom(...INJECTIONS.filter((s) => !/[\r\n]/.test(s))),
      ),
      accept: fc.constantFrom(
        'application/xml',
        'text/html',
        '*/*',
        'application/problem+json',
        '',
        'x/y;q=abc',
      ),
      'x-forwarded-for': fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'not-an-ip', ''),
      'x-request-id': headerText(40),
      'accept-charset': fc.constantFrom('utf-16', 'latin1', 'x'),
    },
    { requiredKeys: [] },
  );
}

// ---------------------------------------------------------------------------------------------
// The request

/** Every request the fuzzer may send to `operation`. Throws when the operation cannot be fuzzed. */
export function requestsFor(
  operation: FuzzOperation,
  pools: ReadonlyMap<string, IdentifierPool>,
  options: RequestOptions = {},
): fc.Arbitrary<FuzzRequest> {
  const placeholders = placeholdersOf(operation.path);
  for (const name of placeholders) {
    if (!pools.has(name))
      throw new Error(
        `${operation.id}: no fuzz generator for path parameter {${name}} (add an identifier pool)`,
      );
  }
  const path = fc
    .tuple(...placeholders.map(() => pathValue(options)))
    .map((values) => Object.fromEntries(placeholders.map((name, i) => [name, values[i] as PathValue])));
  const trailing = fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    fc.constantFrom('/', '//', '/..', '/.', '%2F'),
  );
  return fc
    .record({
      path,
      trailing,
      query: queryString(operation, options),
      authorization: authorization(),
      headers: extraHeaders(),
      body: bodiesFor(operation, options),
    })
    .map(({ body, ...rest }) => {
      const headers = { ...rest.headers };
      if (body.contentType !== undefined) headers['content-type'] = body.contentType;
      const request: FuzzRequest = { ...rest, operation, headers, body: body.body, bodyKind: body.kind };
      // What fast-check prints for a counterexample.
      Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request) });
      return request;
    });
}

/**
 * Whether the request certainly reaches the operation's route: every path value is a known
 * identifier with no `/` added, and nothing is appended to the path. Other requests may match no
 * route at all (or the router may refuse them), which happens before authentication.
 */
export function certainlyRouted(request: FuzzRequest): boolean {
  return (
    request.trailing === '' &&
    Object.values(request.path).every(
      (value) => value.kind === 'known' && !value.prefix.includes('/') && !value.suffix.includes('/'),
    )
  );
}

function pathOf(request: FuzzRequest, pick: (name: string, index: number) => string): string {
  const filled = request.operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = request.path[name] as PathValue;
    return value.kind === 'junk'
      ? value.text
      : `${value.prefix}${percentEncode(pick(name, value.index))}${value.suffix}`;
  });
  return filled + request.trailing + request.query;
}

/** The bytes on the wire, with identifiers drawn from the pools. */
export function resolveRequest(
  request: FuzzRequest,
  pools: ReadonlyMap<string, IdentifierPool>,
  adminToken: string,
): RawRequest {
  const headers = { ...request.headers };
  const auth =
    request.authorization.kind === 'admin'
      ? `Bearer ${adminToken}`
      : request.authorization.header(adminToken);
  if (auth !== undefined) headers.authorization = auth;
  const path = pathOf(request, (name, index) => (pools.get(name) as IdentifierPool).pick(index));
  return { method: request.operation.method, path, headers, body: request.body };
}

const excerpt = (text: string, max: number) =>
  text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)`;

/** Method, path, headers and a body excerpt: enough to replay the request by hand. Never the token. */
export function describeRequest(request: FuzzRequest, raw?: RawRequest): string {
  const path = raw?.path ?? pathOf(request, (name, index) => `<${name} #${index}>`);
  const auth = request.authorization.kind === 'admin' ? 'the admin token' : request.authorization.label;
  const body =
    request.body === undefined
      ? 'no body'
      : `${request.bodyKind}: ${excerpt(Buffer.isBuffer(request.body) ? request.body.toString('latin1') : request.body, 200)}`;
  return `${request.operation.method} ${excerpt(path, 300)} | Authorization: ${auth} | headers ${JSON.stringify(request.headers).slice(0, 300)} | ${body}`;
}
