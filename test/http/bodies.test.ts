/**
 * SPEC §1 and §3 on request bodies: JSON only (415 otherwise), at most 2 MB (413), malformed
 * JSON is 400 without echoing it, nested at most 32 levels, well-formed UTF-8, and the quirks of
 * Cortex's clients are tolerated.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

const MB2 = 2 * 1024 * 1024;

const suite = useTestServer();

const post = (rawBody: string | Buffer, contentType: string) =>
  suite.call('POST', '/api/v1/auth/key', {
    token: suite.server.adminToken,
    rawBody,
    headers: { 'content-type': contentType },
  });

/** A valid create body padded with spaces to exactly `size` bytes. */
function paddedBody(size: number): string {
  const body = JSON.stringify({ name: 'padded', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] });
  return body + ' '.repeat(size - Buffer.byteLength(body));
}

describe('malformed JSON', () => {
  test('is 400 and the body is not echoed', async () => {
    for (const raw of [
      '{"name": "SENTINEL-7f3a',
      '{name: SENTINEL-7f3a}',
      'SENTINEL-7f3a',
      '{"a":1}}SENTINEL-7f3a',
    ]) {
      const reply = await post(raw, 'application/json');
      assertProblem(reply, 400, 'BAD_REQUEST');
      assert.ok(!reply.text.includes('SENTINEL'), `echoed: ${reply.text}`);
      assert.ok(!reply.text.includes('Unexpected token'), `parser message leaked: ${reply.text}`);
    }
  });
});

/** A valid create body whose ignored field `pad` brings the whole body to `depth` levels. */
function nestedBody(depth: number, name = 'nested'): string {
  const body = JSON.stringify({ name, roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] });
  // The body's own object is the first level; `pad` holds the other depth - 1.
  return `${body.slice(0, -1)},"pad":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

const TOO_DEEP = 'The request body is nested deeper than 32 levels';

describe('nesting', () => {
  test('32 levels, in a field the schema ignores, are accepted', async () => {
    const reply = await post(nestedBody(32), 'application/json');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, 'nested');
  });

  test('33 levels: 400, and nothing is created', async () => {
    const before = (await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken })).body
      .total;
    const body = assertProblem(await post(nestedBody(33), 'application/json'), 400, 'BAD_REQUEST');
    assert.equal(body.detail, TOO_DEEP);
    const after = (await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken })).body
      .total;
    assert.equal(after, before);
  });

  test('a 2 MB [[[…]]] and a 2 MB {"a":{"a":…}}: 400 too deep', async () => {
    const half = (MB2 - 2) / 2;
    const arrays = `${'['.repeat(half)}${']'.repeat(half)}`;
    assert.equal(assertProblem(await post(arrays, 'application/json'), 400, 'BAD_REQUEST').detail, TOO_DEEP);
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    assert.equal(assertProblem(await post(objects, 'application/json'), 400, 'BAD_REQUEST').detail, TOO_DEEP);
  });

  test('brackets inside strings do not count, escaped quotes included', async () => {
    // A quote escaped inside the string must not end it: the brackets after it are text.
    const name = `a"${'['.repeat(40)}{{{{`;
    const reply = await post(nestedBody(2, name), 'application/json');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, name);
  });

  test('an escaped backslash ends its string: the brackets after it count', async () => {
    // "x\\" is x and a backslash; its quote closes the string, so `pad` is 33 levels deep.
    const body = nestedBody(33, 'x\\');
    assert.equal(assertProblem(await post(body, 'application/json'), 400, 'BAD_REQUEST').detail, TOO_DEEP);
  });
});

describe('text encoding', () => {
  const NOT_UTF8 = 'The request body is not valid UTF-8';
  const withName = (name: Buffer) =>
    Buffer.concat([
      Buffer.from('{"name":"'),
      name,
      Buffer.from('","roles":[{"type":"DEFAULT","role":"READ_ONLY"}]}'),
    ]);

  test('bytes that are not UTF-8, anywhere in the body: 400, never U+FFFD', async () => {
    for (const bytes of [
      [0xff, 0xfe], // never valid in UTF-8
      [0xc3], // a sequence cut short
      [0xc0, 0xaf], // an overlong encoding of '/'
      [0xed, 0xa0, 0x80], // a surrogate encoded as if it were a character (CESU-8)
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    ]) {
      const reply = await post(withName(Buffer.from([0x61, ...bytes, 0x62])), 'application/json');
      assert.equal(assertProblem(reply, 400, 'BAD_REQUEST').detail, NOT_UTF8, `bytes ${bytes}`);
    }
    const ignored = Buffer.concat([
      withName(Buffer.from('ok')).subarray(0, -1),
      Buffer.from(',"pad":"'),
      Buffer.from([0xff]),
      Buffer.from('"}'),
    ]);
    assert.equal(assertProblem(await post(ignored, 'application/json'), 400, 'BAD_REQUEST').detail, NOT_UTF8);
  });

  test('a lone surrogate escape: 400 naming the field, wherever it is', async () => {
    const cases: [string, string][] = [
      ['{"name":"ab\\ud800cd","roles":[{"type":"DEFAULT","role":"READ_ONLY"}]}', '/body/name'],
      ['{"name":"ok","roles":[{"type":"CUSTOM","tag":"\\udfff"}]}', '/body/roles/0/tag'],
      [
        '{"name":"ok","roles":[{"type":"DEFAULT","role":"READ_ONLY"}],"pad":["x","\\udc00\\ud800"]}',
        '/body/pad/1',
      ],
      ['{"name":"ok","roles":[{"type":"DEFAULT","role":"READ_ONLY"}],"p\\ud800":1}', '/body'],
    ];
    for (const [raw, pointer] of cases) {
      const violations = assertViolations(await post(raw, 'application/json'), [pointer]);
      assert.match(violations[0]?.description ?? '', /unpaired surrogate/, raw);
    }
  });

  test('a surrogate pair written as escapes is one character, and is kept', async () => {
    const raw = '{"name":"key \\ud83d\\udd11","roles":[{"type":"DEFAULT","role":"READ_ONLY"}]}';
    const reply = await post(raw, 'application/json');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, 'key \u{1f511}');
  });
});

describe('size', () => {
  test('exactly 2 MB is accepted', async () => {
    const reply = await post(paddedBody(MB2), 'application/json');
    assert.equal(reply.status, 200, reply.text.slice(0, 300));
  });

  test('one byte more: 413 PAYLOAD_TOO_LARGE', async () => {
    assertProblem(await post(paddedBody(MB2 + 1), 'application/json'), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('far more, of any content type: 413 or 415, never a crash', async () => {
    assertProblem(await post(paddedBody(5 * MB2), 'application/json'), 413, 'PAYLOAD_TOO_LARGE');
    const reply = await post(Buffer.alloc(5 * MB2, 'a'), 'application/octet-stream');
    assert.ok([413, 415].includes(reply.status), `${reply.status}`);
  });
});

describe('content types', () => {
  for (const type of [
    'text/plain',
    'application/xml',
    'application/x-www-form-urlencoded',
    'application/yaml',
  ]) {
    test(`a ${type} body: 415`, async () => {
      assertProblem(await post('name: x', type), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  }

  test('application/json with a charset is JSON', async () => {
    const reply = await post(paddedBody(100), 'application/json; charset=utf-8');
    assert.equal(reply.status, 200, reply.text);
  });

  test('a GET with Content-Type: application/yaml and no body works', async () => {
    const reply = await suite.call('GET', '/api/v1/auth/key', {
      token: suite.server.adminToken,
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  });

  test('Accept: */* gets JSON', async () => {
    const reply = await suite.call('GET', '/api/v1/me', {
      token: suite.server.adminToken,
      headers: { accept: '*/*' },
    });
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  });

  test('a POST with application/json and an empty body: 400, not a crash', async () => {
    assertProblem(await post('', 'application/json'), 400, 'BAD_REQUEST');
  });
});

describe('DELETE as Cortex clients send it', () => {
  test('with the body {} and application/json: 200', async () => {
    const key = await createKey(suite.server);
    const reply = await suite.call('DELETE', `/api/v1/auth/key/${key.cid}`, {
      token: suite.server.adminToken,
      body: {},
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, '');
  });

  test('with an empty body and application/json: 200', async () => {
    const key = await createKey(suite.server);
    const reply = await suite.call('DELETE', `/api/v1/auth/key/${key.cid}`, {
      token: suite.server.adminToken,
      rawBody: '',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(reply.status, 200, reply.text);
  });

  test('with any JSON body: ignored, 200', async () => {
    const key = await createKey(suite.server);
    const reply = await suite.call('DELETE', `/api/v1/auth/key/${key.cid}`, {
      token: suite.server.adminToken,
      body: { cid: 'ak0000000000000000', force: true },
    });
    assert.equal(reply.status, 200, reply.text);
  });

  test('with no body and no content type: 200', async () => {
    const key = await createKey(suite.server);
    const reply = await suite.call('DELETE', `/api/v1/auth/key/${key.cid}`, {
      token: suite.server.adminToken,
    });
    assert.equal(reply.status, 200, reply.text);
  });
});
