/**
 * Custom roles' `secretTags`: a key's secret permissions reach only the tags its patterns match.
 * Lists and their totals show only those; a secret outside every scope of the key is a 404, as
 * if it did not exist; one reached by another of its permissions is a 403.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { createRole, uniqueRoleTag } from '../helpers/roles.js';
import { createSecret, type Secret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

/** Tags unique to this run, so that other rows of a shared database never match the patterns. */
const run = uniqueRoleTag('s');
const tagged = (rest: string) => `${run}-${rest}`;

const secrets = new Map<string, Secret & { value: string }>();
const suite = useTestServer({}, async (server) => {
  for (const rest of ['deploy-api', 'deploy-web', 'prod-db', 'a_b', 'axb', 'Deploy-upper']) {
    secrets.set(rest, await createSecret(server, { tag: tagged(rest) }));
  }
});
const secret = (rest: string) => secrets.get(rest) as Secret & { value: string };

/** A key holding only a role with these permissions, limited to these patterns. */
async function scopedKey(permissions: string[], patterns: string[] | null, alsoDefault: 'USER'[] = []) {
  const made = await createRole(suite.server, {
    permissions: permissions as never,
    secretTags: patterns?.map(tagged) ?? null,
  });
  return (await createKey(suite.server, { roles: alsoDefault, customRoles: [made.tag] })).apiKey;
}

async function listedTags(token: string, pageSize = 1000) {
  const reply = await suite.call('GET', `/api/v1/secrets?pageSize=${pageSize}`, { token });
  assert.equal(reply.status, 200, reply.text);
  return reply.body as { secrets: Secret[]; total: number; totalPages: number };
}

describe('a key whose secret permissions are limited to deploy-*', () => {
  test('lists only the secrets it reaches, and counts only those', async () => {
    const token = await scopedKey(['CREATE_SECRETS', 'READ_SECRET_VALUES'], ['deploy-*']);
    const listed = await listedTags(token);
    assert.deepEqual(
      listed.secrets.map((s) => s.tag),
      [tagged('deploy-api'), tagged('deploy-web')],
    );
    assert.equal(listed.total, 2);
    const paged = await listedTags(token, 1);
    assert.equal(paged.total, 2);
    assert.equal(paged.totalPages, 2);
    assert.equal(paged.secrets.length, 1);
    const me = await suite.call('GET', '/api/v1/me', { token });
    assert.deepEqual(me.body.secretScopes, {
      CREATE_SECRETS: [tagged('deploy-*')],
      READ_SECRET_VALUES: [tagged('deploy-*')],
    });
  });

  test('reads, changes and reveals what it reaches; everything else is 404, by tag or by id', async () => {
    const token = await scopedKey(['CREATE_SECRETS', 'READ_SECRET_VALUES'], ['deploy-*']);
    const inside = secret('deploy-api');
    assert.equal((await suite.call('GET', `/api/v1/secrets/${inside.tag}`, { token })).status, 200);
    const value = await suite.call('GET', `/api/v1/secrets/${inside.id}/value`, { token });
    assert.equal(value.status, 200);
    assert.equal(value.body.value, inside.value);
    assert.equal(
      (await suite.call('PUT', `/api/v1/secrets/${inside.tag}`, { token, body: { name: 'renamed' } })).status,
      200,
    );

    const outside = secret('prod-db');
    for (const path of [outside.tag, outside.id]) {
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['GET', '/versions', undefined],
        ['GET', '/value', undefined],
        ['PUT', '', { name: 'taken over' }],
        ['DELETE', '', undefined],
      ] as const) {
        const reply = await suite.call(method, `/api/v1/secrets/${path}${suffix}`, { token, body });
        const problem = assertProblem(reply, 404, 'NOT_FOUND');
        assert.equal(
          problem.detail,
          `No secret with tag or id '${path}'`,
          'as for a secret that does not exist',
        );
      }
    }
    const still = await suite.call('GET', `/api/v1/secrets/${outside.tag}`, {
      token: suite.server.adminToken,
    });
    assert.equal(still.body.name, `name of ${outside.tag}`, 'nothing changed outside the scope');
  });

  test('creates secrets only with tags its scope reaches', async () => {
    const token = await scopedKey(['CREATE_SECRETS'], ['deploy-*']);
    const refused = await suite.call('POST', '/api/v1/secrets', {
      token,
      body: { name: 'n', tag: tagged('prod-new'), secret: 'v' },
    });
    assert.match(assertProblem(refused, 403, 'FORBIDDEN').detail, /only with tags matching/);
    // An existing tag outside the scope is refused the same way: the key learns nothing of it.
    const existing = await suite.call('POST', '/api/v1/secrets', {
      token,
      body: { name: 'n', tag: secret('prod-db').tag, secret: 'v' },
    });
    assertProblem(existing, 403, 'FORBIDDEN');
    const made = await suite.call('POST', '/api/v1/secrets', {
      token,
      body: { name: 'n', tag: tagged('deploy-new'), secret: 'v' },
    });
    assert.equal(made.status, 200, made.text);
  });
});

describe('patterns', () => {
  test('match case-sensitively, and `_` is an ordinary character on both dialects', async () => {
    const upper = await scopedKey(['CREATE_SECRETS'], ['Deploy-*']);
    assert.deepEqual(
      (await listedTags(upper)).secrets.map((s) => s.tag),
      [tagged('Deploy-upper')],
    );
    const underscore = await scopedKey(['CREATE_SECRETS'], ['a_b']);
    assert.deepEqual(
      (await listedTags(underscore)).secrets.map((s) => s.tag),
      [tagged('a_b')],
      'a_b does not match axb (no LIKE wildcard leaks through)',
    );
    assert.equal(
      (await suite.call('GET', `/api/v1/secrets/${secret('axb').tag}`, { token: underscore })).status,
      404,
    );
  });

  test("a key's scopes are the union of its roles', and an unscoped grant wins", async () => {
    const made = [
      await createRole(suite.server, { permissions: ['CREATE_SECRETS'], secretTags: [tagged('deploy-api')] }),
      await createRole(suite.server, { permissions: ['CREATE_SECRETS'], secretTags: [tagged('prod-*')] }),
    ];
    const both = (await createKey(suite.server, { customRoles: made.map((r) => r.tag) })).apiKey;
    assert.deepEqual(
      (await listedTags(both)).secrets.map((s) => s.tag),
      [tagged('deploy-api'), tagged('prod-db')],
    );
    // USER grants CREATE_SECRETS on every secret: the scoped role narrows nothing.
    const withUser = await scopedKey(['CREATE_SECRETS'], ['deploy-*'], ['USER']);
    const all = await listedTags(withUser);
    assert.ok(all.secrets.some((s) => s.tag === tagged('prod-db')));
    const me = await suite.call('GET', '/api/v1/me', { token: withUser });
    assert.deepEqual(me.body.secretScopes, {});
  });

  test('a secret reached by one permission but not the one asked for is a 403 naming it', async () => {
    // Every secret through USER's CREATE_SECRETS; values of deploy-* only.
    const token = await scopedKey(['READ_SECRET_VALUES'], ['deploy-*'], ['USER']);
    const refused = await suite.call('GET', `/api/v1/secrets/${secret('prod-db').tag}/value`, { token });
    assert.match(assertProblem(refused, 403, 'FORBIDDEN').detail, /READ_SECRET_VALUES does not reach/);
    assert.equal(
      (await suite.call('GET', `/api/v1/secrets/${secret('deploy-web').tag}/value`, { token })).status,
      200,
    );
  });
});
