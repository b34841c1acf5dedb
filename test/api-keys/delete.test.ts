/**
 * DELETE /api/v1/auth/key/{cid}, and "no lockout": deleting an ADMIN key is 409 unless another
 * ADMIN key stays valid for at least an hour.
 *
 * The no-lockout tests each start from a server of their own whose only ADMIN key is the
 * bootstrap key: what one test deletes or lets expire cannot change what the next one sees.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKey, expiringKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { type SuiteServer, useTestServer } from '../helpers/server.js';

/** The delete call on `suite`'s server, as `token` (default: the bootstrap ADMIN key). */
const deleteOn =
  (suite: SuiteServer) =>
  (cid: string, token = suite.server.adminToken) =>
    suite.call('DELETE', `/api/v1/auth/key/${cid}`, { token });

describe('delete', () => {
  const suite = useTestServer();
  const del = deleteOn(suite);

  test('answers 200 with an empty body; the key is gone and its token refused', async () => {
    const key = await createKey(suite.server, { roles: ['USER'], token: suite.server.adminToken });
    const reply = await del(key.cid);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, '');
    assertProblem(
      await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken }),
      404,
      'NOT_FOUND',
    );
    assertProblem(await del(key.cid), 404, 'NOT_FOUND');
    assertProblem(await suite.call('GET', '/api/v1/me', { token: key.apiKey }), 401, 'UNAUTHORIZED');
    const list = await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken });
    assert.ok(!list.body.apiKeys.some((k: { cid: string }) => k.cid === key.cid));
  });

  test('an unknown cid: 404 NOT_FOUND', async () => {
    const problem = assertProblem(await del('ak0123456789abcdef'), 404, 'NOT_FOUND');
    assert.equal(problem.instance, '/api/v1/auth/key/ak0123456789abcdef');
  });

  test('deleting one key leaves the others alone', async () => {
    const [a, b] = [
      await createKey(suite.server, { token: suite.server.adminToken }),
      await createKey(suite.server, { token: suite.server.adminToken }),
    ];
    assert.equal((await del(a.cid)).status, 200);
    assert.equal((await suite.call('GET', '/api/v1/me', { token: b.apiKey })).status, 200);
  });
});

describe('no lockout: another ADMIN key must stay valid for at least an hour', () => {
  /** The only unexpired ADMIN key when each test starts: the bootstrap key. */
  const sole = { cid: '', token: '' };
  const suite = useTestServer({ eachTest: true }, async (server) => {
    const me = await suite.call('GET', '/api/v1/me', { token: server.adminToken });
    Object.assign(sole, { cid: me.body.cid, token: server.adminToken });
  });
  const del = deleteOn(suite);

  test('deleting the only ADMIN key: 409 CONFLICT, and it keeps working', async () => {
    await createKey(suite.server, { roles: ['MANAGER'], token: sole.token });
    await createKey(suite.server, { roles: ['USER'], token: sole.token });
    const problem = assertProblem(await del(sole.cid), 409, 'CONFLICT');
    assert.equal(problem.instance, `/api/v1/auth/key/${sole.cid}`);
    assert.equal((await suite.call('GET', '/api/v1/me', { token: sole.token })).status, 200);
  });

  test('with a second ADMIN key the first can go; then the second is the last', async () => {
    const second = await createKey(suite.server, { roles: ['ADMIN'], token: sole.token });
    assert.equal((await del(sole.cid, second.apiKey)).status, 200);
    assertProblem(await suite.call('GET', '/api/v1/me', { token: sole.token }), 401, 'UNAUTHORIZED');
    assertProblem(await del(second.cid, second.apiKey), 409, 'CONFLICT');
  });

  test('a key may delete itself while another ADMIN key remains', async () => {
    const other = await createKey(suite.server, { roles: ['ADMIN'], token: sole.token });
    assert.equal((await del(other.cid, other.apiKey)).status, 200);
  });

  test('an expired ADMIN key does not count as the other admin, and may itself be deleted', async () => {
    const expiring = await expiringKey(suite.server, 60_000, ['ADMIN'], sole.token);
    suite.server.advance(61_000);
    assertProblem(await del(sole.cid), 409, 'CONFLICT');
    assert.equal((await del(expiring.cid)).status, 200);
    assertProblem(await del(sole.cid), 409, 'CONFLICT');
  });

  test('an ADMIN key that expires within the hour does not count: deleting the other is 409', async () => {
    // The lockout this guards against: an ADMIN key valid for 8 s deletes the bootstrap key, then
    // expires, and no token can administer the service any more.
    const soon = await expiringKey(suite.server, 8_000, ['ADMIN'], sole.token);
    const problem = assertProblem(await del(sole.cid, soon.apiKey), 409, 'CONFLICT');
    assert.match(problem.detail, /at least an hour/);
    const almost = await expiringKey(suite.server, 3_540_000, ['ADMIN'], sole.token);
    assertProblem(await del(sole.cid, almost.apiKey), 409, 'CONFLICT');
    assert.equal((await suite.call('GET', '/api/v1/me', { token: sole.token })).status, 200);
    assert.equal((await del(soon.cid)).status, 200);
    assert.equal((await del(almost.cid)).status, 200);
  });

  test('an ADMIN key valid for more than an hour counts', async () => {
    const expiring = await expiringKey(suite.server, 2 * 3_600_000, ['ADMIN'], sole.token);
    assert.equal((await del(sole.cid, expiring.apiKey)).status, 200);
  });
});
