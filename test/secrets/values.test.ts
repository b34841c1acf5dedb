/** SPEC §5: `secret` is 1 byte to 64 KiB of UTF-8, `name` 1..256 characters; PUT's rules. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createSecret, reveal, uniqueTag } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import { TEXT_ALLOWED, UNPRINTABLE_TEXT } from '../helpers/spec.js';

const KIB_64 = 64 * 1024;

const suite = useTestServer();

const create = (body: Record<string, unknown>) =>
  suite.call('POST', '/api/v1/secrets', {
    token: suite.server.adminToken,
    body: { name: 'n', tag: uniqueTag('value'), secret: 'v', ...body },
  });
const put = (tagOrId: string, body: unknown) =>
  suite.call('PUT', `/api/v1/secrets/${encodeURIComponent(tagOrId)}`, {
    token: suite.server.adminToken,
    body,
  });
const versionsOf = async (tagOrId: string) => {
  const reply = await suite.call('GET', `/api/v1/secrets/${tagOrId}/versions`, {
    token: suite.server.adminToken,
  });
  assert.equal(reply.status, 200, reply.text);
  return reply.body.versions.map((v: { version: number }) => v.version) as number[];
};
const count = async () =>
  (await suite.call('GET', '/api/v1/secrets', { token: suite.server.adminToken })).body.total;

describe('values that are accepted, and revealed byte for byte', () => {
  const accepted: [string, string][] = [
    ['1 byte', 'x'],
    ['exactly 64 KiB of ASCII (65536 bytes)', `${'a'.repeat(KIB_64 - 1)}z`],
    ['exactly 64 KiB of 2-byte UTF-8 (32768 characters)', 'é'.repeat(KIB_64 / 2)],
    ['exactly 64 KiB of 4-byte UTF-8 (16384 emoji)', '🔑'.repeat(KIB_64 / 4)],
    ['whitespace only, kept as is (values are not trimmed)', '  \t\n  '],
    ['leading and trailing spaces kept', '  p@ss w0rd  '],
    ['JSON-looking text', '{"user":"admin","password":"hunter2"}'],
    ['a NUL character and control characters', 'a\u0000b\u0001c\u001f'],
    ['mixed scripts', 'пароль-密码-🔐'],
  ];
  for (const [label, value] of accepted) {
    test(label, async () => {
      const reply = await create({ secret: value });
      assert.equal(reply.status, 200, reply.text.slice(0, 500));
      assert.equal(await reveal(suite.server, reply.body.id), value);
    });
  }
});

describe('values that are refused: 400 at /body/secret, nothing created', () => {
  const refused: [string, unknown][] = [
    ['empty', ''],
    ['65537 bytes of ASCII', 'a'.repeat(KIB_64 + 1)],
    // 21846 characters (under 65536) but 65538 bytes: the limit is in bytes.
    ['multi-byte UTF-8 over 64 KiB in bytes, under it in characters', '€'.repeat(21_846)],
    ['64 KiB of ASCII and one 2-byte character', `${'a'.repeat(KIB_64 - 1)}é`],
    ['16385 emoji (65540 bytes)', '🔑'.repeat(KIB_64 / 4 + 1)],
    ['a number', 12345],
    ['null', null],
    ['an object', { value: 'x' }],
  ];
  for (const [label, value] of refused) {
    test(label, async () => {
      const before = await count();
      const reply = await create({ secret: value });
      assertViolations(reply, ['/body/secret']);
      if (typeof value === 'string' && value.length > 0) {
        assert.ok(!reply.text.includes(value.slice(0, 64)), 'the value is echoed in the error');
      }
      assert.equal(await count(), before);
    });
  }

  test('PUT with a value over 64 KiB in bytes: 400, and the value and versions are unchanged', async () => {
    const secret = await createSecret(suite.server);
    assertViolations(await put(secret.id, { secret: 'ж'.repeat(KIB_64 / 2 + 1) }), ['/body/secret']);
    assertViolations(await put(secret.id, { secret: '' }), ['/body/secret']);
    assert.equal(await reveal(suite.server, secret.id), secret.value);
    assert.deepEqual(await versionsOf(secret.id), [1]);
  });
});

describe('values that are not well-formed text: 400, never stored as U+FFFD', () => {
  const rawCreate = (secretJson: Buffer) =>
    suite.call('POST', '/api/v1/secrets', {
      token: suite.server.adminToken,
      rawBody: Buffer.concat([
        Buffer.from(`{"name":"n","tag":"${uniqueTag('utf8')}","secret":`),
        secretJson,
        Buffer.from('}'),
      ]),
      headers: { 'content-type': 'application/json' },
    });
  const rawPut = (tagOrId: string, secretJson: Buffer) =>
    suite.call('PUT', `/api/v1/secrets/${tagOrId}`, {
      token: suite.server.adminToken,
      rawBody: Buffer.concat([Buffer.from('{"secret":'), secretJson, Buffer.from('}')]),
      headers: { 'content-type': 'application/json' },
    });
  const LONE_SURROGATES = ['"ab\\ud800cd"', '"\\udfff"', '"x\\udc00\\ud83d"', '"\\ud83d"'].map((s) =>
    Buffer.from(s),
  );
  const RAW_BYTES = Buffer.concat([Buffer.from('"ab'), Buffer.from([0xff, 0xfe]), Buffer.from('cd"')]);

  test('create, a lone surrogate escape: 400 at /body/secret, nothing created', async () => {
    for (const json of LONE_SURROGATES) {
      const before = await count();
      const violations = assertViolations(await rawCreate(json), ['/body/secret']);
      assert.match(violations[0]?.description ?? '', /'secret' is not well-formed Unicode/);
      assert.equal(await count(), before, json.toString());
    }
  });

  test('create, raw bytes that are not UTF-8: 400, nothing created', async () => {
    const before = await count();
    const body = assertProblem(await rawCreate(RAW_BYTES), 400, 'BAD_REQUEST');
    assert.equal(body.detail, 'The request body is not valid UTF-8');
    assert.equal(await count(), before);
  });

  test('update, either: 400, and the value and versions are unchanged', async () => {
    const secret = await createSecret(suite.server);
    for (const json of LONE_SURROGATES) assertViolations(await rawPut(secret.id, json), ['/body/secret']);
    const body = assertProblem(await rawPut(secret.id, RAW_BYTES), 400, 'BAD_REQUEST');
    assert.equal(body.detail, 'The request body is not valid UTF-8');
    assert.equal(await reveal(suite.server, secret.id), secret.value);
    assert.deepEqual(await versionsOf(secret.id), [1]);
  });

  test('astral characters, raw or as escaped pairs, are revealed exactly as sent', async () => {
    const expected = 'key \u{1f511} \u{1f469}\u200d\u{1f4bb} \u{10ffff}';
    const raw = await rawCreate(Buffer.from(JSON.stringify(expected)));
    assert.equal(raw.status, 200, raw.text);
    assert.equal(await reveal(suite.server, raw.body.id), expected);
    const escaped = await rawCreate(
      Buffer.from('"key \\ud83d\\udd11 \\ud83d\\udc69\\u200d\\ud83d\\udcbb \\udbff\\udfff"'),
    );
    assert.equal(escaped.status, 200, escaped.text);
    assert.equal(await reveal(suite.server, escaped.body.id), expected);
    const updated = await rawPut(escaped.body.id, Buffer.from('"\\ud83d\\udd10"'));
    assert.equal(updated.status, 200, updated.text);
    assert.equal(await reveal(suite.server, escaped.body.id), '\u{1f510}');
  });
});

describe('names', () => {
  test('1 and 256 characters are accepted; 256 after trimming surrounding spaces too', async () => {
    for (const name of ['n', 'n'.repeat(256), `   ${'m'.repeat(256)}   `]) {
      const reply = await create({ name });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.name, name.trim());
    }
  });

  test('256 characters outside the Basic Multilingual Plane are 256 characters', async () => {
    const name = '🔑'.repeat(256);
    const reply = await create({ name });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, name);
    assertViolations(await create({ name: '🔑'.repeat(257) }), ['/body/name']);
  });

  test('empty, blank, 257 characters, or not a string: 400 at /body/name', async () => {
    for (const name of ['', '   ', '\t\n', 'n'.repeat(257), 42, null]) {
      assertViolations(await create({ name }), ['/body/name']);
    }
  });

  test('printable text of any script is kept as sent', async () => {
    for (const name of TEXT_ALLOWED) {
      const reply = await create({ name });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.name, name);
    }
  });

  for (const [label, name] of UNPRINTABLE_TEXT) {
    test(`${label}: 400 at /body/name on create and on PUT, nothing stored`, async () => {
      const before = await count();
      const violations = assertViolations(await create({ name }), ['/body/name']);
      assert.match(violations[0]?.description ?? '', /'name' must not contain control characters/);
      assert.equal(await count(), before);
      const secret = await createSecret(suite.server, { name: 'kept' });
      assertViolations(await put(secret.id, { name }), ['/body/name']);
      assertViolations(await put(secret.id, { name: 'two\nlines' }), ['/body/name']);
      const read = await suite.call('GET', `/api/v1/secrets/${secret.id}`, {
        token: suite.server.adminToken,
      });
      assert.equal(read.body.name, 'kept');
    });
  }

  test('PUT applies the same rules', async () => {
    const secret = await createSecret(suite.server, { name: 'before' });
    for (const name of ['', '  ', 'n'.repeat(257)])
      assertViolations(await put(secret.id, { name }), ['/body/name']);
    const ok = await put(secret.id, { name: `  ${'x'.repeat(256)}  ` });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.name, 'x'.repeat(256));
  });

  test('every problem at once: missing name, bad tag and empty value in one request', async () => {
    const reply = await suite.call('POST', '/api/v1/secrets', {
      token: suite.server.adminToken,
      body: { tag: '-bad', secret: '' },
    });
    assertViolations(reply, ['/body/name', '/body/tag', '/body/secret']);
  });
});

describe('PUT', () => {
  test('with neither name nor secret: 400, and nothing changes', async () => {
    const secret = await createSecret(suite.server, { name: 'unchanged' });
    for (const body of [{}, undefined]) {
      const reply = await put(secret.id, body);
      assertProblem(reply, 400, 'BAD_REQUEST');
    }
    const read = await suite.call('GET', `/api/v1/secrets/${secret.id}`, { token: suite.server.adminToken });
    assert.equal(read.body.name, 'unchanged');
    assert.deepEqual(await versionsOf(secret.id), [1]);
  });

  test('the name only: the value stays, and no version is added', async () => {
    const secret = await createSecret(suite.server, { name: 'old name' });
    const reply = await put(secret.tag, { name: 'new name' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { id: secret.id, name: 'new name', tag: secret.tag });
    assert.equal(await reveal(suite.server, secret.id), secret.value);
    assert.deepEqual(await versionsOf(secret.id), [1]);
  });

  test('the secret only: a new version with the new value; the name stays', async () => {
    const secret = await createSecret(suite.server, { name: 'kept name' });
    const reply = await put(secret.id, { secret: 'second value' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { id: secret.id, name: 'kept name', tag: secret.tag });
    assert.deepEqual(await versionsOf(secret.id), [1, 2]);
    assert.equal(await reveal(suite.server, secret.id), 'second value');
    assert.equal(await reveal(suite.server, secret.id, 1), secret.value);
  });

  test('both: one new version, and the new name', async () => {
    const secret = await createSecret(suite.server);
    const reply = await put(secret.id, { name: 'both changed', secret: 'third value' });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, 'both changed');
    assert.deepEqual(await versionsOf(secret.id), [1, 2]);
    assert.equal(await reveal(suite.server, secret.id), 'third value');
  });

  test('the same value again is still a new version', async () => {
    const secret = await createSecret(suite.server);
    assert.equal((await put(secret.id, { secret: secret.value })).status, 200);
    assert.deepEqual(await versionsOf(secret.id), [1, 2]);
    assert.equal(await reveal(suite.server, secret.id, 2), secret.value);
  });

  test('concurrent value changes each get their own version, none lost', async () => {
    const secret = await createSecret(suite.server);
    const values = ['c1', 'c2', 'c3'];
    const replies = await Promise.all(values.map((secretValue) => put(secret.id, { secret: secretValue })));
    for (const reply of replies) assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(await versionsOf(secret.id), [1, 2, 3, 4]);
    const written = await Promise.all([2, 3, 4].map((v) => reveal(suite.server, secret.id, v)));
    assert.deepEqual([...written].sort(), values);
    assert.equal(await reveal(suite.server, secret.id), written[2]);
  });
});
