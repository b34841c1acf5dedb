/** SPEC §5: tag rules — the pattern, not id-shaped, unique, unchangeable. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createSecret, reveal, uniqueTag } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

const suite = useTestServer();

const create = (tag: unknown) =>
  suite.call('POST', '/api/v1/secrets', {
    token: suite.server.adminToken,
    body: { name: 'n', tag, secret: 'v' },
  });
const put = (tagOrId: string, body: unknown) =>
  suite.call('PUT', `/api/v1/secrets/${encodeURIComponent(tagOrId)}`, {
    token: suite.server.adminToken,
    body,
  });
const list = async () =>
  (await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token: suite.server.adminToken })).body
    .secrets as {
    tag: string;
  }[];

describe('valid tags', () => {
  const valid: [string, string][] = [
    ['one character', 'a'],
    ['one digit', '7'],
    ['upper and lower case, digits, _ and -', 'Db_Password-2'],
    ['100 characters', `a${'b'.repeat(99)}`],
    ['ends with - and _', 'x-_'],
    ['se and 15 hex digits (one short of an id)', 'se0123456789abcde'],
    ['se and 17 hex digits (one past an id)', 'se0123456789abcdef0'],
    ['se and 16 upper-case hex digits (ids are lower case)', 'se0123456789ABCDEF'],
  ];
  for (const [label, tag] of valid) {
    test(`${label}: 200, and the secret is found by it`, async () => {
      const reply = await create(tag);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.tag, tag);
      const read = await suite.call('GET', `/api/v1/secrets/${tag}`, { token: suite.server.adminToken });
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.id, reply.body.id);
    });
  }
});

describe('invalid tags: 400 with a violation at /body/tag, and nothing created', () => {
  const invalid: [string, unknown][] = [
    ['empty', ''],
    ['a leading -', '-tag'],
    ['a leading _', '_tag'],
    ['a space inside', 'db password'],
    ['a leading space', ' tag'],
    ['a trailing space', 'tag '],
    ['101 characters', `a${'b'.repeat(100)}`],
    ['a non-ASCII letter', 'café'],
    ['an emoji', 'key🔑'],
    ['a full-width digit', 'tag１'],
    ['a dot', 'db.password'],
    ['a slash', 'db/password'],
    ['a newline at the end', 'tag\n'],
    ['a number instead of a string', 42],
    ['null', null],
  ];
  for (const [label, tag] of invalid) {
    test(label, async () => {
      const before = (await list()).length;
      assertViolations(await create(tag), ['/body/tag']);
      assert.equal((await list()).length, before);
    });
  }

  test('shaped like a secret id (se + 16 lower-case hex digits)', async () => {
    const before = (await list()).length;
    for (const tag of ['se0123456789abcdef', 'se0000000000000000', 'seffffffffffffffff']) {
      assertViolations(await create(tag), ['/body/tag']);
    }
    assert.equal((await list()).length, before);
  });

  test('reserved for routes of the API: changes and values (case-sensitive)', async () => {
    const before = (await list()).length;
    for (const tag of ['changes', 'values']) {
      const [violation] = assertViolations(await create(tag), ['/body/tag']);
      assert.match(violation?.description ?? '', /reserved/);
    }
    assert.equal((await list()).length, before);
    for (const tag of [uniqueTag('changes'), `Values-${uniqueTag()}`]) {
      assert.equal((await create(tag)).status, 200, tag);
    }
  });

  test('shaped like the id of an existing secret', async () => {
    const existing = await createSecret(suite.server);
    assertViolations(await create(existing.id), ['/body/tag']);
    // The existing secret is untouched.
    const read = await suite.call('GET', `/api/v1/secrets/${existing.id}`, {
      token: suite.server.adminToken,
    });
    assert.equal(read.body.tag, existing.tag);
  });
});

describe('uniqueness', () => {
  test('a duplicate tag: 409 CONFLICT, and the first secret keeps its value', async () => {
    const first = await createSecret(suite.server);
    const reply = await suite.call('POST', '/api/v1/secrets', {
      token: suite.server.adminToken,
      body: { name: 'second', tag: first.tag, secret: 'a different value' },
    });
    assertProblem(reply, 409, 'CONFLICT');
    assert.ok(!reply.text.includes('a different value'));
    assert.equal((await list()).filter((s) => s.tag === first.tag).length, 1);
    assert.equal(await reveal(suite.server, first.tag), first.value);
  });

  test('concurrent creates of one tag: exactly one wins, the others are 409', async () => {
    const tag = uniqueTag('race');
    const replies = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => create(tag).then((r) => [n, r] as const)),
    );
    const won = replies.filter(([, r]) => r.status === 200);
    assert.equal(won.length, 1, replies.map(([, r]) => r.status).join(','));
    for (const [, r] of replies) if (r.status !== 200) assertProblem(r, 409, 'CONFLICT');
    assert.equal((await list()).filter((s) => s.tag === tag).length, 1);
  });

  test('tags are case-sensitive: DB and db are two secrets', async () => {
    const tag = uniqueTag('case');
    const lower = await createSecret(suite.server, { tag: tag.toLowerCase() });
    const upper = await createSecret(suite.server, { tag: tag.toUpperCase() });
    assert.notEqual(lower.id, upper.id);
    assert.equal(await reveal(suite.server, lower.tag), lower.value);
    assert.equal(await reveal(suite.server, upper.tag), upper.value);
  });
});

describe('the tag cannot change', () => {
  test('PUT with a different tag: 400 at /body/tag, and nothing changes', async () => {
    const secret = await createSecret(suite.server, { name: 'fixed' });
    const other = uniqueTag('other');
    const reply = await put(secret.id, { name: 'changed', secret: 'changed value', tag: other });
    assertViolations(reply, ['/body/tag']);
    const read = await suite.call('GET', `/api/v1/secrets/${secret.id}`, { token: suite.server.adminToken });
    assert.deepEqual(read.body, { id: secret.id, name: 'fixed', tag: secret.tag });
    assert.equal(await reveal(suite.server, secret.id), secret.value);
    assertProblem(
      await suite.call('GET', `/api/v1/secrets/${other}`, { token: suite.server.adminToken }),
      404,
      'NOT_FOUND',
    );
  });

  test('PUT with the same tag is fine', async () => {
    const secret = await createSecret(suite.server);
    const reply = await put(secret.tag, { name: 'renamed', tag: secret.tag });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { id: secret.id, name: 'renamed', tag: secret.tag });
  });

  test('PUT with only the tag (no name, no secret): 400', async () => {
    const secret = await createSecret(suite.server);
    assertProblem(await put(secret.id, { tag: secret.tag }), 400, 'BAD_REQUEST');
  });
});
