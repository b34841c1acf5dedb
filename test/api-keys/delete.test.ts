/**
 * DELETE /api/v1/auth/key/{cid}, and "no lockout": deleting an ADMIN key is 409 unless another
 * ADMIN key stays valid for at least an hour.
 *
 * One server for the file (servers are costly on PostgreSQL), so the tests run in order and each
 * leaves exactly one unexpired ADMIN key behind, `sole`: the bootstrap key at first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, type Call, createKey, expiringKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let call: Call;
/** The only unexpired ADMIN key. */
let sole: { cid: string; token: string };
before(async () => {
  server = await startTestServer();
  call = api(server);
  const me = await call('GET', '/api/v1/me', { token: server.adminToken });
  sole = { cid: me.body.cid, token: server.adminToken };
});
after(async () => server.close());

const del = (cid: string, token = sole.token) => call('DELETE', `/api/v1/auth/key/${cid}`, { token });

describe('delete', () => {
  test('answers 200 with an empty body; the key is gone and its token refused', async () => {
    const key = await createKey(server, { roles: ['USER'], token: sole.token });
    const reply = await del(key.cid);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, '');
    assertProblem(await call('GET', `/api/v1/auth/key/${key.cid}`, { token: sole.token }), 404, 'NOT_FOUND');
    assertProblem(await del(key.cid), 404, 'NOT_FOUND');
    assertProblem(await call('GET', '/api/v1/me', { token: key.apiKey }), 401, 'UNAUTHORIZED');
    const list = await call('GET', '/api/v1/auth/key', { token: sole.token });
    assert.ok(!list.body.apiKeys.some((k: { cid: string }) => k.cid === key.cid));
  });

  test('an unknown cid: 404 NOT_FOUND', async () => {
    const problem = assertProblem(await del('ak0123456789abcdef'), 404, 'NOT_FOUND');
    assert.equal(problem.instance, '/api/v1/auth/key/ak0123456789abcdef');
  });

  test('deleting one key leaves the others alone', async () => {
    const [a, b] = [
      await createKey(server, { token: sole.token }),
      await createKey(server, { token: sole.token }),
    ];
    assert.equal((await del(a.cid)).status, 200);
    assert.equal((await call('GET', '/api/v1/me', { token: b.apiKey })).status, 200);
  });
});

describe('no lockout: another ADMIN key must stay valid for at least an hour', () => {
  test('deleting the only ADMIN key: 409 CONFLICT, and it keeps working', async () => {
    await createKey(server, { roles: ['MANAGER'], token: sole.token });
    await createKey(server, { roles: ['USER'], token: sole.token });
    const problem = assertProblem(await del(sole.cid), 409, 'CONFLICT');
    assert.equal(problem.instance, `/api/v1/auth/key/${sole.cid}`);
    assert.equal((await call('GET', '/api/v1/me', { token: sole.token })).status, 200);
  });

  test('with a second ADMIN key the first can go; then the second is the last', async () => {
    const second = await createKey(server, { roles: ['ADMIN'], token: sole.token });
    assert.equal((await del(sole.cid, second.apiKey)).status, 200);
    assertProblem(await call('GET', '/api/v1/me', { token: sole.token }), 401, 'UNAUTHORIZED');
    sole = { cid: second.cid, token: second.apiKey };
    assertProblem(await del(sole.cid), 409, 'CONFLICT');
  });

  test('a key may delete itself while another ADMIN key remains', async () => {
    const other = await createKey(server, { roles: ['ADMIN'], token: sole.token });
    assert.equal((await del(other.cid, other.apiKey)).status, 200);
  });

  test('an expired ADMIN key does not count as the other admin, and may itself be deleted', async () => {
    const expiring = await expiringKey(server, 60_000, ['ADMIN'], sole.token);
    server.advance(61_000);
    assertProblem(await del(sole.cid), 409, 'CONFLICT');
    assert.equal((await del(expiring.cid)).status, 200);
    assertProblem(await del(sole.cid), 409, 'CONFLICT');
  });

  test('an ADMIN key that expires within the hour does not count: deleting the other is 409', async () => {
    // The lockout this guards against: an ADMIN key valid for 8 s deletes the bootstrap key, then
    // expires, and no token can administer the service any more.
    const soon = await expiringKey(server, 8_000, ['ADMIN'], sole.token);
    const problem = assertProblem(await del(sole.cid, soon.apiKey), 409, 'CONFLICT');
    assert.match(problem.detail, /at least an hour/);
    const almost = await expiringKey(server, 3_540_000, ['ADMIN'], sole.token);
    assertProblem(await del(sole.cid, almost.apiKey), 409, 'CONFLICT');
    assert.equal((await call('GET', '/api/v1/me', { token: sole.token })).status, 200);
    assert.equal((await del(soon.cid)).status, 200);
    assert.equal((await del(almost.cid)).status, 200);
  });

  // Last: afterwards the only ADMIN key is one that expires.
  test('an ADMIN key valid for more than an hour counts', async () => {
    const expiring = await expiringKey(server, 2 * 3_600_000, ['ADMIN'], sole.token);
    assert.equal((await del(sole.cid, expiring.apiKey)).status, 200);
  });
});
