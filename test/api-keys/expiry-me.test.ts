/** SPEC §4 expiry (refused from the instant it passes) and GET /api/v1/me (Tessera's extension). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { api, assertApiKeyShape, createKey, expiringKey, role, serverNow } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';
import { DEFAULT_ROLES, PERMISSIONS, ROLE_PERMISSIONS } from '../helpers/spec.js';

const suite = useTestServer();

const me = (token: string) => api(suite.server)('GET', '/api/v1/me', { token });

describe('expiry', () => {
  test('a key works until its expirationDate and is refused from then on', async () => {
    const key = await expiringKey(suite.server, 10 * 60_000, ['ADMIN']);
    assert.equal((await me(key.apiKey)).status, 200);
    suite.server.advance(9 * 60_000);
    assert.equal((await me(key.apiKey)).status, 200);
    assert.equal((await api(suite.server)('GET', '/api/v1/auth/key', { token: key.apiKey })).status, 200);
    suite.server.advance(2 * 60_000);
    const problem = assertProblem(await me(key.apiKey), 401, 'UNAUTHORIZED');
    assert.match(problem.detail, /expired/i);
    assertProblem(
      await api(suite.server)('GET', '/api/v1/auth/key', { token: key.apiKey }),
      401,
      'UNAUTHORIZED',
    );
  });

  test('a zone-less expirationDate is UTC', async () => {
    const now = await serverNow(suite.server);
    const at = new Date(now.getTime() + 60 * 60_000);
    // The same instant written as UTC without a zone ...
    const zoneless = at.toISOString().slice(0, 19);
    const key = await createKey(suite.server, { expirationDate: zoneless });
    assert.equal(key.expirationDate, `${zoneless}.000Z`);
    // ... is valid one minute before it and refused one minute after, whatever the local zone.
    suite.server.advance(59 * 60_000);
    assert.equal((await me(key.apiKey)).status, 200);
    suite.server.advance(2 * 60_000);
    assertProblem(await me(key.apiKey), 401, 'UNAUTHORIZED');
  });

  test('an expired key is still listed, with its expirationDate, for its owner to clean up', async () => {
    const key = await expiringKey(suite.server, 1000);
    suite.server.advance(2000);
    const reply = await api(suite.server)('GET', `/api/v1/auth/key/${key.cid}`, {
      token: suite.server.adminToken,
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.expirationDate, key.expirationDate);
  });
});

describe('GET /api/v1/me', () => {
  test('answers the calling key, its roles and all six permissions for ADMIN', async () => {
    const reply = await me(suite.server.adminToken);
    assert.equal(reply.status, 200);
    assertApiKeyShape(reply.body);
    assert.equal(reply.body.name, 'bootstrap');
    assert.deepEqual(reply.body.roles, [role('ADMIN')]);
    assert.deepEqual([...reply.body.permissions].sort(), [...PERMISSIONS].sort());
    assert.equal(reply.body.expirationDate, null);
    assert.equal(reply.body.last4, suite.server.adminToken.slice(-4));
  });

  for (const name of DEFAULT_ROLES) {
    test(`a ${name} key has the permissions of SPEC §6`, async () => {
      const key = await createKey(suite.server, { roles: [name], description: `a ${name} key` });
      const reply = await me(key.apiKey);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.cid, key.cid);
      assert.equal(reply.body.name, key.name);
      assert.equal(reply.body.description, `a ${name} key`);
      assert.deepEqual(reply.body.roles, [role(name)]);
      assert.deepEqual([...reply.body.permissions].sort(), [...ROLE_PERMISSIONS[name]].sort());
      assert.ok(!reply.text.includes(key.apiKey));
    });
  }

  test('permissions are the union over the roles', async () => {
    const key = await createKey(suite.server, { roles: ['USER', 'MANAGER', 'READ_ONLY'] });
    const reply = await me(key.apiKey);
    assert.deepEqual([...reply.body.permissions].sort(), ['CREATE_SECRETS', 'VIEW_AUDIT_LOGS']);
  });

  test('shows the expirationDate of an expiring key', async () => {
    const key = await expiringKey(suite.server, 3_600_000);
    const reply = await me(key.apiKey);
    assert.equal(reply.body.expirationDate, key.expirationDate);
  });
});
