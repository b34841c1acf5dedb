/**
 * The bulk reveal, `POST /api/v1/secrets/values` (Tessera): the current values of the secrets
 * named by `tags`, or of those whose tag starts with `tagPrefix`, in one answer ordered by tag;
 * scope checks as for the single reveal; one READ event per value, written before the answer;
 * bounded (at most 500 values: more is a 400, never a cut).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventsOf } from '../helpers/audit.js';
import { createKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createRole, uniqueRoleTag } from '../helpers/roles.js';
import { changeValue, createSecret, type Secret, uniqueTag } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

/** A prefix unique to this run: other rows of a shared database never start with it. */
const run = uniqueRoleTag('bulk');
const tagged = (rest: string) => `${run}-${rest}`;

const secrets = new Map<string, Secret & { value: string }>();
const suite = useTestServer({}, async (server) => {
  for (const rest of ['deploy-api', 'deploy-web', 'prod-db', 'a_b', 'axb', 'Deploy-upper']) {
    secrets.set(rest, await createSecret(server, { tag: tagged(rest) }));
  }
  await changeValue(server, tagged('deploy-web'), 'the second value of deploy-web');
  const web = secrets.get('deploy-web') as Secret & { value: string };
  web.value = 'the second value of deploy-web';
});
const secret = (rest: string) => secrets.get(rest) as Secret & { value: string };
const expected = (rest: string, version = 1) => ({
  id: secret(rest).id,
  tag: secret(rest).tag,
  version,
  value: secret(rest).value,
});

const bulk = (body: unknown, token = suite.server.adminToken) =>
  suite.call('POST', '/api/v1/secrets/values', { token, body });

/** A key holding only a role with these permissions, limited to these patterns (null: every secret). */
async function scopedKey(permissions: string[], patterns: string[] | null) {
  const made = await createRole(suite.server, {
    permissions: permissions as never,
    secretTags: patterns?.map(tagged) ?? null,
  });
  return (await createKey(suite.server, { customRoles: [made.tag] })).apiKey;
}

describe('by tags', () => {
  test('{ values: [{ id, tag, version, value }] } ordered by tag, each once, with Cache-Control: no-store', async () => {
    const reply = await bulk({
      tags: [tagged('prod-db'), tagged('deploy-web'), tagged('deploy-api'), tagged('prod-db')],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, {
      values: [expected('deploy-api'), expected('deploy-web', 2), expected('prod-db')],
    });
    assert.match(reply.headers.get('cache-control') ?? '', /\bno-store\b/);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  });

  test('one READ event per value, as the single reveal records it, and none for a refused call', async () => {
    const { result, events } = await eventsOf(suite.server, () =>
      bulk({ tags: [tagged('deploy-web'), tagged('axb')] }),
    );
    assert.equal(result.status, 200, result.text);
    assert.deepEqual(
      events.map((e) => [e.action, e.object_type, e.object_id, e.detail, e.actor_type, e.outcome]),
      [
        ['READ', 'SECRET', tagged('axb'), 'value version 1', 'API_KEY', 'SUCCESS'],
        ['READ', 'SECRET', tagged('deploy-web'), 'value version 2', 'API_KEY', 'SUCCESS'],
      ],
    );
    const refused = await eventsOf(suite.server, () => bulk({ tags: [tagged('axb'), tagged('missing')] }));
    assertProblem(refused.result, 404, 'NOT_FOUND');
    assert.deepEqual(
      refused.events.filter((e) => e.action === 'READ'),
      [],
      'no value was revealed, so none was recorded',
    );
  });

  test('a tag naming no secret: 404 naming it, and no value in the answer', async () => {
    const reply = await bulk({ tags: [tagged('deploy-api'), tagged('nothing-here')] });
    const problem = assertProblem(reply, 404, 'NOT_FOUND');
    assert.equal(problem.detail, `No secret with tag or id '${tagged('nothing-here')}'`);
    assert.ok(!reply.text.includes(secret('deploy-api').value));
  });

  test('tags only: an id names no tag (no tag may look like an id), so it is a 404', async () => {
    const id = secret('deploy-api').id;
    const problem = assertProblem(await bulk({ tags: [id] }), 404, 'NOT_FOUND');
    assert.equal(problem.detail, `No secret with tag or id '${id}'`);
  });
});

describe('by prefix', () => {
  test('every secret whose tag starts with it, ordered by tag; case-sensitive, `_` an ordinary character', async () => {
    const deploy = await bulk({ tagPrefix: tagged('deploy-') });
    assert.equal(deploy.status, 200, deploy.text);
    assert.deepEqual(deploy.body.values, [expected('deploy-api'), expected('deploy-web', 2)]);
    const upper = await bulk({ tagPrefix: tagged('Deploy') });
    assert.deepEqual(upper.body.values, [expected('Deploy-upper')]);
    const underscore = await bulk({ tagPrefix: tagged('a_') });
    assert.deepEqual(underscore.body.values, [expected('a_b')], 'a_ does not match axb');
    const none = await bulk({ tagPrefix: tagged('zzz') });
    assert.deepEqual(none.body, { values: [] });
  });

  test('"" is every secret the key may reveal', async () => {
    const reply = await bulk({ tagPrefix: '' });
    assert.equal(reply.status, 200, reply.text);
    const tags = reply.body.values.map((v: { tag: string }) => v.tag);
    for (const rest of secrets.keys()) assert.ok(tags.includes(tagged(rest)), rest);
    assert.deepEqual(tags, [...tags].sort(), 'ordered by tag (code units)');
  });
});

describe('scopes: a key whose READ_SECRET_VALUES reaches deploy-* only', () => {
  test('reveals what it reaches; a tag beyond every scope of the key is a 404 like a missing one', async () => {
    const token = await scopedKey(['READ_SECRET_VALUES'], ['deploy-*']);
    const inside = await bulk({ tags: [tagged('deploy-api')] }, token);
    assert.equal(inside.status, 200, inside.text);
    assert.deepEqual(inside.body.values, [expected('deploy-api')]);
    const outside = await bulk({ tags: [tagged('deploy-api'), tagged('prod-db')] }, token);
    const problem = assertProblem(outside, 404, 'NOT_FOUND');
    assert.equal(problem.detail, `No secret with tag or id '${tagged('prod-db')}'`);
    assert.ok(!outside.text.includes(secret('deploy-api').value));
    assert.ok(!outside.text.includes(secret('prod-db').value));
  });

  test('a prefix returns only what it reaches', async () => {
    const token = await scopedKey(['READ_SECRET_VALUES'], ['deploy-*']);
    const all = await bulk({ tagPrefix: run }, token);
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.body.values, [expected('deploy-api'), expected('deploy-web', 2)]);
    const everything = await bulk({ tagPrefix: '' }, token);
    assert.deepEqual(
      everything.body.values.map((v: { tag: string }) => v.tag),
      [tagged('deploy-api'), tagged('deploy-web')],
    );
  });

  test('a secret it sees through CREATE_SECRETS but may not reveal: 403, as for a single reveal', async () => {
    const made = await createRole(suite.server, {
      permissions: ['CREATE_SECRETS', 'READ_SECRET_VALUES'],
      secretTags: [tagged('deploy-api')],
    });
    const wider = await createRole(suite.server, {
      permissions: ['CREATE_SECRETS'],
      secretTags: [tagged('*')],
    });
    const token = (await createKey(suite.server, { customRoles: [made.tag, wider.tag] })).apiKey;
    const reply = await bulk({ tags: [tagged('prod-db')] }, token);
    assert.match(assertProblem(reply, 403, 'FORBIDDEN').detail, /READ_SECRET_VALUES does not reach/);
  });

  test('a key without READ_SECRET_VALUES: 403 before the body is looked at', async () => {
    const user = await createKey(suite.server, { roles: ['USER'] });
    assertProblem(await bulk({ tags: [tagged('deploy-api')] }, user.apiKey), 403, 'FORBIDDEN');
    assertProblem(await bulk({ nonsense: true }, user.apiKey), 403, 'FORBIDDEN');
  });
});

describe('invalid bodies: 400 with violations', () => {
  const cases: [string, unknown, string][] = [
    ['neither tags nor tagPrefix', {}, '/body'],
    ['both', { tags: ['a'], tagPrefix: 'a' }, '/body'],
    ['no tags', { tags: [] }, '/body/tags'],
    ['501 tags', { tags: Array.from({ length: 501 }, (_, i) => `t${i}`) }, '/body/tags'],
    ['a malformed tag', { tags: ['ok', 'not ok'] }, '/body/tags/1'],
    ['a tag that is not a string', { tags: [7] }, '/body/tags/0'],
    ['a prefix with a space', { tagPrefix: 'db ' }, '/body/tagPrefix'],
    ['a prefix with a glob character', { tagPrefix: 'db*' }, '/body/tagPrefix'],
    ['a prefix with a LIKE wildcard', { tagPrefix: 'db%' }, '/body/tagPrefix'],
    ['a 101-character prefix', { tagPrefix: 'a'.repeat(101) }, '/body/tagPrefix'],
  ];
  for (const [label, body, pointer] of cases) {
    test(label, async () => {
      assertViolations(await bulk(body), [pointer]);
    });
  }
});

describe('more than 500 matching secrets', () => {
  const big = useTestServer();

  test('a prefix matching 501: 400 asking to narrow it, no value; 500 are answered', async () => {
    const prefix = uniqueTag('many');
    const tags = Array.from({ length: 501 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < tags.length; i += 50) {
      await Promise.all(
        tags.slice(i, i + 50).map((tag) => createSecret(big.server, { tag, secret: `v-${tag}` })),
      );
    }
    const call = (body: unknown) =>
      big.call('POST', '/api/v1/secrets/values', { token: big.server.adminToken, body });
    const { result: refused, events } = await eventsOf(big.server, () => call({ tagPrefix: prefix }));
    const [violation] = assertViolations(refused, ['/body/tagPrefix']);
    assert.match(violation?.description ?? '', /More than 500 secrets match the prefix .*: narrow it/);
    assert.ok(!refused.text.includes('v-'), 'no value in the refusal');
    assert.deepEqual(events, [], 'nothing revealed, nothing recorded');

    const narrower = await call({ tagPrefix: `${prefix}-0` });
    assert.equal(narrower.status, 200, narrower.text);
    assert.equal(narrower.body.values.length, 100);
    const five = await call({ tags: tags.slice(0, 500) });
    assert.equal(five.status, 200);
    assert.equal(five.body.values.length, 500);
    assert.deepEqual(
      five.body.values.map((v: { value: string }) => v.value),
      tags.slice(0, 500).map((tag) => `v-${tag}`),
    );
  });
});

describe('with secretReveal: false', () => {
  const locked = useTestServer({ secretReveal: false });

  test('an ADMIN gets 403 and no value, by tags and by prefix', async () => {
    const made = await createSecret(locked.server);
    for (const body of [{ tags: [made.tag] }, { tagPrefix: '' }]) {
      const reply = await locked.call('POST', '/api/v1/secrets/values', {
        token: locked.server.adminToken,
        body,
      });
      assert.match(assertProblem(reply, 403, 'FORBIDDEN').detail, /TESSERA_SECRET_REVEAL=false/);
      assert.ok(!reply.text.includes(made.value));
    }
  });
});
