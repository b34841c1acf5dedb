/**
 * SPEC §6 on the secrets calls: CREATE_SECRETS (ADMIN, MANAGER, USER) for the five Cortex calls
 * and the versions list; READ_SECRET_VALUES (ADMIN only) for the value.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { createSecret, reveal, revealReply, uniqueTag } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import type { DefaultRole } from '../helpers/spec.js';

const tokens = new Map<DefaultRole, string>();

const suite = useTestServer({}, async () => {
  for (const roleName of ['ADMIN', 'MANAGER', 'USER', 'READ_ONLY', 'VIEWER'] as const) {
    tokens.set(
      roleName,
      (await createKey(suite.server, { name: `secrets-${roleName}`, roles: [roleName] })).apiKey,
    );
  }
});

const tokenOf = (roleName: DefaultRole) => tokens.get(roleName) as string;
const total = async () =>
  (await suite.call('GET', '/api/v1/secrets', { token: suite.server.adminToken })).body.total;

for (const roleName of ['READ_ONLY', 'VIEWER'] as const) {
  describe(`a ${roleName} key: 403 FORBIDDEN on every secrets call, and nothing changes`, () => {
    test('list, create, get, update, delete, versions and value', async () => {
      const token = tokenOf(roleName);
      const target = await createSecret(suite.server, { name: 'untouchable' });
      const before = await total();
      const calls: [string, string, unknown][] = [
        ['GET', '/api/v1/secrets', undefined],
        ['POST', '/api/v1/secrets', { name: 'n', tag: uniqueTag('forbidden'), secret: 'v' }],
        ['GET', `/api/v1/secrets/${target.id}`, undefined],
        ['GET', `/api/v1/secrets/${target.tag}`, undefined],
        ['PUT', `/api/v1/secrets/${target.id}`, { name: 'changed', secret: 'changed' }],
        ['DELETE', `/api/v1/secrets/${target.tag}`, undefined],
        ['GET', `/api/v1/secrets/${target.id}/versions`, undefined],
        ['GET', `/api/v1/secrets/${target.id}/value`, undefined],
      ];
      for (const [method, path, body] of calls) {
        const reply = await suite.call(method, path, { token, body });
        assertProblem(reply, 403, 'FORBIDDEN');
        assert.ok(!reply.text.includes(target.value), `${method} ${path} shows the value`);
      }
      // An unknown secret is 403 too: the caller learns nothing about what exists.
      assertProblem(await suite.call('GET', '/api/v1/secrets/no-such-secret', { token }), 403, 'FORBIDDEN');
      assert.equal(await total(), before);
      const read = await suite.call('GET', `/api/v1/secrets/${target.id}`, {
        token: suite.server.adminToken,
      });
      assert.deepEqual(read.body, { id: target.id, name: 'untouchable', tag: target.tag });
      assert.equal(await reveal(suite.server, target.id), target.value);
    });
  });
}

for (const roleName of ['USER', 'MANAGER'] as const) {
  describe(`a ${roleName} key (CREATE_SECRETS, no READ_SECRET_VALUES)`, () => {
    test('may create, list, get, update, list versions and delete', async () => {
      const token = tokenOf(roleName);
      const tag = uniqueTag(roleName.toLowerCase());
      const created = await suite.call('POST', '/api/v1/secrets', {
        token,
        body: { name: 'by role', tag, secret: 'first' },
      });
      assert.equal(created.status, 200, created.text);
      const id = created.body.id;
      const listed = await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token });
      assert.equal(listed.status, 200, listed.text);
      assert.ok(listed.body.secrets.some((s: { id: string }) => s.id === id));
      const got = await suite.call('GET', `/api/v1/secrets/${tag}`, { token });
      assert.deepEqual(got.body, { id, name: 'by role', tag });
      const updated = await suite.call('PUT', `/api/v1/secrets/${id}`, { token, body: { secret: 'second' } });
      assert.equal(updated.status, 200, updated.text);
      const versions = await suite.call('GET', `/api/v1/secrets/${id}/versions`, { token });
      assert.equal(versions.status, 200, versions.text);
      assert.deepEqual(
        versions.body.versions.map((v: { version: number }) => v.version),
        [1, 2],
      );
      // The admin sees what this key wrote.
      assert.equal(await reveal(suite.server, id), 'second');
      assert.equal(await reveal(suite.server, id, 1), 'first');
      const deleted = await suite.call('DELETE', `/api/v1/secrets/${tag}`, { token });
      assert.equal(deleted.status, 200, deleted.text);
      assert.equal(deleted.text, '');
      assertProblem(await suite.call('GET', `/api/v1/secrets/${id}`, { token }), 404, 'NOT_FOUND');
    });

    test('may work on secrets other keys created', async () => {
      const token = tokenOf(roleName);
      const other = await createSecret(suite.server);
      assert.equal((await suite.call('GET', `/api/v1/secrets/${other.id}`, { token })).status, 200);
      const renamed = await suite.call('PUT', `/api/v1/secrets/${other.tag}`, {
        token,
        body: { name: 'renamed' },
      });
      assert.equal(renamed.status, 200, renamed.text);
    });

    test('may not reveal a value: 403, current or any version, and the value is not in the reply', async () => {
      const token = tokenOf(roleName);
      const own = await createSecret(suite.server, { token });
      for (const options of [{ token }, { token, version: 1 }]) {
        for (const tagOrId of [own.id, own.tag]) {
          const reply = await revealReply(suite.server, tagOrId, options);
          assertProblem(reply, 403, 'FORBIDDEN');
          assert.ok(!reply.text.includes(own.value));
        }
      }
    });
  });
}

describe('an ADMIN key', () => {
  test('may reveal, by id and by tag', async () => {
    const secret = await createSecret(suite.server, { token: tokenOf('USER') });
    for (const tagOrId of [secret.id, secret.tag]) {
      const reply = await revealReply(suite.server, tagOrId, { token: tokenOf('ADMIN') });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body, { id: secret.id, tag: secret.tag, version: 1, value: secret.value });
    }
  });

  test('a key holding USER and ADMIN has the union: it may reveal', async () => {
    const both = await createKey(suite.server, { roles: ['USER', 'ADMIN'] });
    const secret = await createSecret(suite.server);
    const reply = await revealReply(suite.server, secret.id, { token: both.apiKey });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.value, secret.value);
  });

  test('a key holding USER and MANAGER still may not reveal', async () => {
    const both = await createKey(suite.server, { roles: ['USER', 'MANAGER'] });
    const secret = await createSecret(suite.server);
    assertProblem(await revealReply(suite.server, secret.id, { token: both.apiKey }), 403, 'FORBIDDEN');
  });
});
