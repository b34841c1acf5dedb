/**
 * `POST /api/v1/auth/key/{cid}/roll`: a new token for the same key, shown once; the replaced
 * token works until its grace ends (never past the key's expiry), then 401; a grace of 0 refuses
 * it at once; rolling again ends a running grace; audited in the same transaction. Time moves on
 * the server's clock (`advance`), not by sleeping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashToken } from '../../src/crypto/tokens.js';
import { auditRows } from '../helpers/audit.js';
import { assertApiKeyShape, type CreatedKey, createKey, expiringKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

const suite = useTestServer();
const admin = () => suite.server.adminToken;

const roll = (cid: string, expireOldAfterSeconds: unknown, token = admin()) =>
  suite.call('POST', `/api/v1/auth/key/${cid}/roll`, { token, body: { expireOldAfterSeconds } });
const me = (token: string) => suite.call('GET', '/api/v1/me', { token });

async function rolled(key: CreatedKey, grace: number): Promise<CreatedKey> {
  const reply = await roll(key.cid, grace);
  assert.equal(reply.status, 200, reply.text);
  return reply.body as CreatedKey;
}

describe('rolling a key', () => {
  test('answers 200 with the same key, a new last4 and the new token once; the new token works at once', async () => {
    const key = await createKey(suite.server, {
      name: 'to roll',
      roles: ['USER'],
      allowedIps: ['127.0.0.1', '::1'],
      rateLimitPerMinute: 900,
    });
    assert.equal((await me(key.apiKey)).status, 200);
    const next = await rolled(key, 0);
    assertApiKeyShape(next, { withToken: true });
    assert.equal(next.cid, key.cid);
    assert.notEqual(next.apiKey, key.apiKey);
    assert.equal(next.last4, next.apiKey.slice(-4));
    for (const field of [
      'name',
      'description',
      'roles',
      'createdDate',
      'expirationDate',
      'allowedIps',
      'rateLimitPerMinute',
    ] as const) {
      assert.deepEqual(next[field], key[field], field);
    }
    const answer = await me(next.apiKey);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.cid, key.cid);
    // The key as read and listed shows the new last4, and the new token is what is stored.
    const read = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: admin() });
    assert.equal(read.body.last4, next.last4);
    assert.ok(!read.text.includes(next.apiKey), 'the token shown again');
    const list = await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: admin() });
    assert.equal(list.body.apiKeys.find((k: { cid: string }) => k.cid === key.cid).last4, next.last4);
    const row = await suite.server.store.db
      .selectFrom('api_keys')
      .selectAll()
      .where('cid', '=', key.cid)
      .executeTakeFirstOrThrow();
    assert.equal(row.token_hash, hashToken(next.apiKey));
    assert.ok(!JSON.stringify(row).includes(next.apiKey) && !JSON.stringify(row).includes(key.apiKey));
  });

  test('grace 0: the old token, cached a moment ago, is refused (401) at once', async () => {
    const key = await createKey(suite.server);
    assert.equal((await me(key.apiKey)).status, 200);
    await rolled(key, 0);
    assertProblem(await me(key.apiKey), 401, 'UNAUTHORIZED');
  });

  test('the old token works until its grace ends, then 401; the new one goes on', async () => {
    const key = await createKey(suite.server);
    assert.equal((await me(key.apiKey)).status, 200, 'cached before the roll');
    const next = await rolled(key, 600);
    assert.equal((await me(key.apiKey)).status, 200, 'within the grace');
    assert.equal((await me(next.apiKey)).status, 200);
    suite.server.advance(599_000);
    assert.equal((await me(key.apiKey)).status, 200, 'a second before the end');
    suite.server.advance(2_000);
    const refused = assertProblem(await me(key.apiKey), 401, 'UNAUTHORIZED');
    assert.equal(
      refused.detail,
      'This token was replaced when its key was rolled, and its grace period has ended',
    );
    assert.equal((await me(next.apiKey)).status, 200);
  });

  test("the grace never outlasts the key's own expiry", async () => {
    const key = await expiringKey(suite.server, 120_000);
    const next = await rolled(key, 3_600);
    const event = (await auditRows(suite.server))
      .filter((r) => r.object_id === key.cid && r.action === 'UPDATE')
      .at(-1);
    assert.equal(event?.detail, `token rolled; the previous token works until ${key.expirationDate}`);
    assert.equal((await me(key.apiKey)).status, 200);
    suite.server.advance(121_000);
    assertProblem(await me(key.apiKey), 401, 'UNAUTHORIZED');
    assertProblem(await me(next.apiKey), 401, 'UNAUTHORIZED');
  });

  test('rolling again while a grace runs: the token replaced earlier is refused at once', async () => {
    const key = await createKey(suite.server);
    const second = await rolled(key, 600);
    const third = await rolled(second, 600);
    assertProblem(await me(key.apiKey), 401, 'UNAUTHORIZED');
    assert.equal((await me(second.apiKey)).status, 200, "the last roll's grace runs");
    assert.equal((await me(third.apiKey)).status, 200);
  });

  test('audited as an UPDATE of the key, with its grace, in the same transaction; no token in it', async () => {
    const key = await createKey(suite.server);
    const reply = await roll(key.cid, 60);
    assert.equal(reply.status, 200, reply.text);
    const requestId = reply.headers.get('x-request-id');
    const events = (await auditRows(suite.server)).filter((r) => r.request_id === requestId);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.deepEqual(
      [event?.action, event?.object_type, event?.object_id, event?.outcome],
      ['UPDATE', 'API_KEY', key.cid, 'SUCCESS'],
    );
    assert.match(event?.detail ?? '', /^token rolled; the previous token works until \d{4}-/);
    assert.ok(!JSON.stringify(events).includes(reply.body.apiKey));
    const zero = await roll(key.cid, 0);
    const detail = (await auditRows(suite.server)).find(
      (r) => r.request_id === zero.headers.get('x-request-id'),
    )?.detail;
    assert.equal(detail, 'token rolled; the previous token is refused at once');
  });
});

describe('refusals', () => {
  test('a key without EDIT_API_KEYS: 403; an unknown key: 404; nothing changes', async () => {
    const key = await createKey(suite.server);
    const user = await createKey(suite.server, { roles: ['USER'] });
    assertProblem(await roll(key.cid, 0, user.apiKey), 403, 'FORBIDDEN');
    assertProblem(await roll('ak0000000000000000', 0), 404, 'NOT_FOUND');
    assert.equal((await me(key.apiKey)).status, 200);
  });

  test('the grace: required, a whole number of seconds from 0 to 30 days', async () => {
    const key = await createKey(suite.server);
    for (const grace of [-1, 2_592_001, 1.5, '60', null]) {
      assertViolations(await roll(key.cid, grace), ['/body/expireOldAfterSeconds']);
    }
    const missing = await suite.call('POST', `/api/v1/auth/key/${key.cid}/roll`, {
      token: admin(),
      body: {},
    });
    assertViolations(missing, ['/body/expireOldAfterSeconds']);
    assert.equal((await roll(key.cid, 2_592_000)).status, 200);
    assert.equal(
      (await me(key.apiKey)).status,
      200,
      'a refused roll changed nothing; the last one has a grace',
    );
  });
});
