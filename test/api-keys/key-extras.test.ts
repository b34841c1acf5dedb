/**
 * Tessera's extensions to the key shape: `allowedIps`, `rateLimitPerMinute` and `lastUsedDate` on
 * every key answer (null when unset), set at creation and changed by PUT, and enforced: a call
 * from an address outside a key's list is 403 for that key only, and a key with its own budget is
 * metered on it. The test is the proxy (trustProxy: 1): `X-Forwarded-For` names the client.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditRows } from '../helpers/audit.js';
import { assertApiKeyShape, createKey, role } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

const suite = useTestServer({ app: { trustProxy: 1 } });

const admin = () => suite.server.adminToken;
const create = (body: unknown) => suite.call('POST', '/api/v1/auth/key', { token: admin(), body });
const readOnly = [role('READ_ONLY')];
/** A call with `token` as if from `ip` (the proxy appended it). */
const from = (ip: string, token: string, path = '/api/v1/me') =>
  suite.call('GET', path, { token, headers: { 'x-forwarded-for': ip } });

describe('the key shape', () => {
  test('every key answer carries the three fields, null when unset', async () => {
    const created = await create({ name: 'plain', roles: readOnly });
    assert.equal(created.status, 200, created.text);
    assertApiKeyShape(created.body, { withToken: true });
    const { cid, apiKey } = created.body;
    const answers = [
      created.body,
      (await suite.call('GET', `/api/v1/auth/key/${cid}`, { token: admin() })).body,
      (await suite.call('PUT', `/api/v1/auth/key/${cid}`, { token: admin(), body: { name: 'plain-2' } }))
        .body,
      (await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: admin() })).body.apiKeys.find(
        (key: { cid: string }) => key.cid === cid,
      ),
      (await suite.call('GET', '/api/v1/me', { token: apiKey })).body,
    ];
    for (const answer of answers) {
      assert.equal(answer.allowedIps, null, JSON.stringify(answer));
      assert.equal(answer.rateLimitPerMinute, null, JSON.stringify(answer));
      assert.ok('lastUsedDate' in answer, JSON.stringify(answer));
    }
    assert.equal(created.body.lastUsedDate, null, 'a new key was never used');
  });

  test('created with them, every answer shows them', async () => {
    const created = await create({
      name: 'restricted',
      roles: readOnly,
      allowedIps: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'],
      rateLimitPerMinute: 50,
    });
    assert.equal(created.status, 200, created.text);
    assertApiKeyShape(created.body, { withToken: true });
    const want = { allowedIps: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'], rateLimitPerMinute: 50 };
    const { cid, apiKey } = created.body;
    const list = await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: admin() });
    const answers = [
      created.body,
      (await suite.call('GET', `/api/v1/auth/key/${cid}`, { token: admin() })).body,
      list.body.apiKeys.find((key: { cid: string }) => key.cid === cid),
      (await from('203.0.113.9', apiKey)).body,
    ];
    for (const answer of answers) {
      assert.deepEqual(
        { allowedIps: answer.allowedIps, rateLimitPerMinute: answer.rateLimitPerMinute },
        want,
      );
    }
  });

  test('duplicate addresses are kept once', async () => {
    const created = await create({ name: 'dups', roles: readOnly, allowedIps: ['192.0.2.1', '192.0.2.1'] });
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.body.allowedIps, ['192.0.2.1']);
  });

  test('invalid entries: one violation each, and nothing is stored', async () => {
    const before = (await suite.call('GET', '/api/v1/auth/key', { token: admin() })).body.total;
    const reply = await create({
      name: 'bad-ips',
      roles: readOnly,
      allowedIps: ['10.0.0.0/8', 'example.com', '10.0.0.0/33', 'fe80::1%eth0'],
    });
    const violations = assertViolations(reply, [
      '/body/allowedIps/1',
      '/body/allowedIps/2',
      '/body/allowedIps/3',
    ]);
    assert.equal(violations.length, 3, JSON.stringify(violations));
    assert.equal((await suite.call('GET', '/api/v1/auth/key', { token: admin() })).body.total, before);
  });

  test('bounds: an empty list, more than 100 entries, an over-long entry, a limit out of range', async () => {
    assertViolations(await create({ name: 'x', roles: readOnly, allowedIps: [] }), ['/body/allowedIps']);
    const many = Array.from({ length: 101 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`);
    assertViolations(await create({ name: 'x', roles: readOnly, allowedIps: many }), ['/body/allowedIps']);
    assertViolations(await create({ name: 'x', roles: readOnly, allowedIps: ['1'.repeat(50)] }), [
      '/body/allowedIps/0',
    ]);
    for (const limit of [0, -1, 1_000_001, 2.5, '10']) {
      assertViolations(await create({ name: 'x', roles: readOnly, rateLimitPerMinute: limit }), [
        '/body/rateLimitPerMinute',
      ]);
    }
    assert.equal(
      (await create({ name: 'x', roles: readOnly, allowedIps: Array(100).fill('10.0.0.1') })).status,
      200,
    );
  });

  test('PUT changes them where given, clears them with null, and leaves them when omitted', async () => {
    const key = await createKey(suite.server, { allowedIps: ['192.0.2.0/24'], rateLimitPerMinute: 7 });
    const put = (body: unknown) => suite.call('PUT', `/api/v1/auth/key/${key.cid}`, { token: admin(), body });
    // Cortex's body, unchanged: the extras stay.
    let reply = await put({ name: 'renamed', description: 'd' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual([reply.body.allowedIps, reply.body.rateLimitPerMinute], [['192.0.2.0/24'], 7]);
    reply = await put({ name: 'renamed', allowedIps: ['2001:db8::1'], rateLimitPerMinute: 9 });
    assert.deepEqual([reply.body.allowedIps, reply.body.rateLimitPerMinute], [['2001:db8::1'], 9]);
    reply = await put({ name: 'renamed', allowedIps: null, rateLimitPerMinute: null });
    assert.deepEqual([reply.body.allowedIps, reply.body.rateLimitPerMinute], [null, null]);
    const read = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: admin() });
    assert.deepEqual(
      [read.body.name, read.body.allowedIps, read.body.rateLimitPerMinute],
      ['renamed', null, null],
    );
    assertViolations(await put({ name: 'renamed', allowedIps: ['nope'] }), ['/body/allowedIps/0']);
  });

  test('an update that restricts a key applies at once: its cached token is refused from elsewhere', async () => {
    const key = await createKey(suite.server);
    assert.equal((await from('198.51.100.1', key.apiKey)).status, 200);
    const reply = await suite.call('PUT', `/api/v1/auth/key/${key.cid}`, {
      token: admin(),
      body: { name: 'now restricted', allowedIps: ['192.0.2.1'] },
    });
    assert.equal(reply.status, 200, reply.text);
    assertProblem(await from('198.51.100.1', key.apiKey), 403, 'FORBIDDEN');
    assert.equal((await from('192.0.2.1', key.apiKey)).status, 200);
  });
});

describe('allowedIps', () => {
  test('a call from outside the list is 403 for that key only, naming the address, not the list', async () => {
    const restricted = await createKey(suite.server, { allowedIps: ['203.0.113.0/24'] });
    const open = await createKey(suite.server);
    assert.equal((await from('203.0.113.200', restricted.apiKey)).status, 200);
    const refused = assertProblem(await from('198.51.100.23', restricted.apiKey), 403, 'FORBIDDEN');
    assert.match(refused.detail, /198\.51\.100\.23/);
    assert.doesNotMatch(refused.detail, /203\.0\.113/);
    // Another key from that same address is not affected.
    assert.equal((await from('198.51.100.23', open.apiKey)).status, 200);
  });

  test('IPv6 addresses and ranges, and IPv4 ranges of any width', async () => {
    const key = await createKey(suite.server, { allowedIps: ['2001:db8:abcd::/48', '10.0.0.0/8', '::1'] });
    for (const ip of ['2001:db8:abcd:12::7', '10.200.3.4', '::1']) {
      assert.equal((await from(ip, key.apiKey)).status, 200, ip);
    }
    for (const ip of ['2001:db8:abce::1', '11.0.0.1', '::2']) {
      assertProblem(await from(ip, key.apiKey), 403, 'FORBIDDEN');
    }
  });

  test('refused before the body is read, and audited as a denial of that key', async () => {
    const key = await createKey(suite.server, { roles: ['USER'], allowedIps: ['192.0.2.5'] });
    const reply = await suite.call('POST', '/api/v1/secrets', {
      token: key.apiKey,
      headers: { 'x-forwarded-for': '198.51.100.77' },
      rawBody: '{"not valid json',
    });
    assertProblem(reply, 403, 'FORBIDDEN');
    const requestId = reply.headers.get('x-request-id');
    const row = (await auditRows(suite.server)).find((r) => r.request_id === requestId);
    assert.ok(row !== undefined, 'no audit event for the refusal');
    assert.deepEqual([row.outcome, row.actor_id, row.ip], ['DENIED', key.cid, '198.51.100.77']);
  });

  test("a refusal spends the client's budget, not the key's", async () => {
    const key = await createKey(suite.server, { allowedIps: ['192.0.2.6'], rateLimitPerMinute: 2 });
    for (let i = 0; i < 3; i++) assertProblem(await from('198.51.100.88', key.apiKey), 403, 'FORBIDDEN');
    // The key's own budget of 2 is untouched by the three refusals.
    assert.equal((await from('192.0.2.6', key.apiKey)).status, 200);
    assert.equal((await from('192.0.2.6', key.apiKey)).status, 200);
    assertProblem(await from('192.0.2.6', key.apiKey), 429, 'TOO_MANY_REQUESTS');
  });
});

describe('rateLimitPerMinute', () => {
  test('a key with 3 a minute gets 429 on its 4th call, while another key does not', async () => {
    const limited = await createKey(suite.server, { rateLimitPerMinute: 3 });
    const other = await createKey(suite.server);
    for (let i = 1; i <= 3; i++) {
      const reply = await suite.call('GET', '/api/v1/me', { token: limited.apiKey });
      assert.equal(reply.status, 200, `call ${i}: ${reply.text}`);
      assert.equal(reply.headers.get('x-ratelimit-limit'), '3');
      assert.equal(reply.headers.get('x-ratelimit-remaining'), String(3 - i));
    }
    const fourth = assertProblem(
      await suite.call('GET', '/api/v1/me', { token: limited.apiKey }),
      429,
      'TOO_MANY_REQUESTS',
    );
    assert.match(fourth.detail, /Rate limit of 3 requests per minute/);
    const elsewhere = await suite.call('GET', '/api/v1/me', { token: other.apiKey });
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.headers.get('x-ratelimit-limit'), '100000', 'the default budget');
  });
});

describe('no lockout by allowedIps', () => {
  test('a key may not restrict itself away from the address it calls from (400); another key may', async () => {
    const self = await createKey(suite.server, { roles: ['ADMIN'] });
    const put = (token: string, ip: string, allowedIps: string[]) =>
      suite.call('PUT', `/api/v1/auth/key/${self.cid}`, {
        token,
        headers: { 'x-forwarded-for': ip },
        body: { name: 'self', allowedIps },
      });
    assertViolations(await put(self.apiKey, '198.51.100.1', ['192.0.2.0/24']), ['/body/allowedIps']);
    assert.equal((await from('198.51.100.1', self.apiKey)).status, 200, 'still usable');
    // Including its own address is fine, and so is another key doing the restricting.
    assert.equal((await put(self.apiKey, '192.0.2.9', ['192.0.2.0/24'])).status, 200);
    assert.equal((await put(admin(), '198.51.100.1', ['203.0.113.1'])).status, 200);
  });
});
