/** SPEC §4: GET /api/v1/auth/key, GET and PUT /api/v1/auth/key/{cid}. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertApiKeyShape, createKey, role } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

let admin: string;

const suite = useTestServer({}, async () => {
  admin = suite.server.adminToken;
});

const get = (cid: string) => suite.call('GET', `/api/v1/auth/key/${cid}`, { token: admin });
const put = (cid: string, body: unknown) =>
  suite.call('PUT', `/api/v1/auth/key/${cid}`, { token: admin, body });

describe('list', () => {
  test('shows every key in the ApiKey shape, the bootstrap key first', async () => {
    const created = await createKey(suite.server, { name: 'listed', description: 'for the list' });
    const reply = await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: admin });
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.body).sort(), ['apiKeys', 'page', 'total', 'totalPages']);
    for (const key of reply.body.apiKeys) assertApiKeyShape(key);
    assert.equal(reply.body.apiKeys[0].name, 'bootstrap');
    assert.deepEqual(reply.body.apiKeys[0].roles, [role('ADMIN')]);
    assert.equal(reply.body.apiKeys[0].last4, admin.slice(-4));
    const { apiKey: _token, ...expected } = created;
    assert.deepEqual(
      reply.body.apiKeys.find((k: { cid: string }) => k.cid === created.cid),
      expected,
    );
    assert.equal(reply.body.total, reply.body.apiKeys.length);
  });
});

describe('get', () => {
  test('answers the key as created, without its token', async () => {
    const created = await createKey(suite.server, { roles: ['USER', 'MANAGER'] });
    const reply = await get(created.cid);
    assert.equal(reply.status, 200);
    assertApiKeyShape(reply.body);
    const { apiKey: _token, ...expected } = created;
    assert.deepEqual(reply.body, expected);
  });

  test('an unknown cid: 404 NOT_FOUND', async () => {
    for (const cid of ['ak0000000000000000', 'not-a-cid', 'AK0000000000000000']) {
      const problem = assertProblem(await get(cid), 404, 'NOT_FOUND');
      assert.equal(problem.instance, `/api/v1/auth/key/${cid}`);
    }
  });

  test('a deleted key: 404', async () => {
    const created = await createKey(suite.server);
    assert.equal(
      (await suite.call('DELETE', `/api/v1/auth/key/${created.cid}`, { token: admin })).status,
      200,
    );
    assertProblem(await get(created.cid), 404, 'NOT_FOUND');
  });
});

describe('update', () => {
  test('changes the name (trimmed) and keeps the description when it is omitted', async () => {
    const created = await createKey(suite.server, { name: 'before', description: 'kept' });
    const reply = await put(created.cid, { name: '  after  ' });
    assert.equal(reply.status, 200, reply.text);
    assertApiKeyShape(reply.body);
    const { apiKey: _token, ...unchanged } = created;
    assert.deepEqual(reply.body, { ...unchanged, name: 'after' });
    assert.deepEqual((await get(created.cid)).body, reply.body);
  });

  test('sets the description, and null clears it', async () => {
    const created = await createKey(suite.server, { description: 'old' });
    const set = await put(created.cid, { name: created.name, description: 'new' });
    assert.equal(set.status, 200);
    assert.equal(set.body.description, 'new');
    assert.equal((await get(created.cid)).body.description, 'new');
    const cleared = await put(created.cid, { name: created.name, description: null });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.description, null);
    assert.equal((await get(created.cid)).body.description, null);
  });

  test('changes nothing else: roles, expiry, cid, dates and last4 in the body are ignored', async () => {
    const created = await createKey(suite.server, { roles: ['READ_ONLY'] });
    const reply = await put(created.cid, {
      name: 'only-the-name',
      roles: [role('ADMIN')],
      expirationDate: '2001-01-01T00:00:00Z',
      cid: 'ak0000000000000000',
      createdDate: '2001-01-01T00:00:00.000Z',
      last4: 'abcd',
      apiKey: 'tsk_x',
    });
    assert.equal(reply.status, 200, reply.text);
    const { apiKey, ...unchanged } = created;
    const expected = { ...unchanged, name: 'only-the-name' };
    assert.deepEqual(reply.body, expected);
    assert.deepEqual((await get(created.cid)).body, expected);
    // And the key's token still carries only its own roles.
    const me = await suite.call('GET', '/api/v1/me', { token: apiKey });
    assert.deepEqual(me.body.roles, [role('READ_ONLY')]);
    assert.deepEqual(me.body.permissions, []);
  });

  test('the token keeps working after an update', async () => {
    const created = await createKey(suite.server);
    assert.equal((await put(created.cid, { name: 'renamed' })).status, 200);
    assert.equal((await suite.call('GET', '/api/v1/me', { token: created.apiKey })).status, 200);
  });

  test('name rules as on create: 400 at /body/name', async () => {
    const created = await createKey(suite.server, { name: 'stays' });
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'n'.repeat(257) }, { name: 3 }]) {
      assertViolations(await put(created.cid, body), ['/body/name']);
    }
    assertViolations(await put(created.cid, { name: 'x', description: 'd'.repeat(4097) }), [
      '/body/description',
    ]);
    assert.equal((await get(created.cid)).body.name, 'stays');
  });

  test('256 characters after trimming are fine', async () => {
    const created = await createKey(suite.server);
    const reply = await put(created.cid, { name: ` ${'n'.repeat(256)} ` });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, 'n'.repeat(256));
  });

  test('an unknown cid: 404 NOT_FOUND', async () => {
    assertProblem(await put('ak0000000000000000', { name: 'x' }), 404, 'NOT_FOUND');
  });
});
