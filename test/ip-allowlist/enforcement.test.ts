/**
 * The IP allowlist enforced over real HTTP: while the list is not empty, a request from an address
 * outside it is refused 403 on every route but the health probes, before its token is looked at
 * and before its body is read; IPv4, IPv6 and CIDR ranges match (an IPv4 client seen as
 * `::ffff:a.b.c.d` too); refusals are audited in aggregate; the check answers from memory once
 * the list is read, and a list that cannot be read refuses everything (503). Calls come from
 * chosen addresses through `X-Forwarded-For` (the server trusts one proxy hop).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { createLocalNoticeBus } from '../../src/cluster/change-notice-bus.js';
import { createIpAllowlistGate } from '../../src/features/ip-allowlist/ip-allowlist.gate.js';
import { auditRows, manualDenialWindow } from '../helpers/audit.js';
import { from, putList, setList } from '../helpers/ip-allowlist.js';
import { api, createKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

const INSIDE = '198.51.100.7';
const OUTSIDE = '203.0.113.9';
const LIST = [
  { address: '198.51.100.0/24' },
  { address: '2001:db8::/32' },
  { address: '192.0.2.7' },
  // The test's own calls without X-Forwarded-For.
  { address: '127.0.0.1' },
];

describe('enforcement', () => {
  const window = manualDenialWindow();
  const suite = useTestServer(
    { eachTest: true, app: { trustProxy: 1, denialWindow: window.open } },
    (server) => setList(api(server), server.adminToken, LIST),
  );
  const call = (ip: string, method: string, path: string, options: Parameters<typeof suite.call>[2] = {}) =>
    suite.call(method, path, { ...options, headers: { ...options.headers, ...from(ip) } });
  const admin = () => suite.server.adminToken;

  test('a client outside the list gets 403 FORBIDDEN naming its address, with a valid token or none', async () => {
    for (const token of [admin(), undefined, 'tsk_malformed']) {
      const reply = await call(OUTSIDE, 'GET', '/api/v1/secrets', { token });
      const problem = assertProblem(reply, 403, 'FORBIDDEN');
      assert.equal(problem.detail, `Requests from ${OUTSIDE} are not allowed by the IP allowlist`);
      // Judged before the token: no rate-limit headers, nothing learnt about the credential.
      assert.equal(reply.headers.get('x-ratelimit-limit'), null);
    }
    assert.equal((await call(INSIDE, 'GET', '/api/v1/secrets', { token: admin() })).status, 200);
    // Inside the list, the usual rules still hold.
    assertProblem(await call(INSIDE, 'GET', '/api/v1/secrets'), 401, 'UNAUTHORIZED');
  });

  test('IPv4 and IPv6 addresses and ranges match; an IPv4 client written as IPv6 matches its IPv4 ranges', async () => {
    const cases: [string, number][] = [
      ['198.51.100.200', 200],
      ['198.51.101.1', 403],
      ['192.0.2.7', 200],
      ['192.0.2.8', 403],
      ['2001:db8::1', 200],
      ['2001:db8:ffff:ffff::1', 200],
      ['2001:db9::1', 403],
      ['::ffff:198.51.100.9', 200],
      ['::ffff:203.0.113.9', 403],
      ['::1', 403],
    ];
    const statuses = [];
    for (const [ip] of cases) statuses.push((await call(ip, 'GET', '/api/v1/me', { token: admin() })).status);
    assert.deepEqual(
      statuses.map((status, i) => [cases[i]?.[0], status]),
      cases,
    );
  });

  test('refused before the body is read: a huge or malformed body from outside is 403, not 413 or 400', async () => {
    const huge = Buffer.alloc(3 * 1024 * 1024, 'a');
    const bodies: [string | Buffer, number][] = [
      [huge, 413],
      ['{"name": ', 400],
    ];
    for (const [rawBody, insideStatus] of bodies) {
      const options = { token: admin(), rawBody, headers: { 'content-type': 'application/json' } };
      assertProblem(await call(OUTSIDE, 'POST', '/api/v1/secrets', options), 403, 'FORBIDDEN');
      assert.equal((await call(INSIDE, 'POST', '/api/v1/secrets', options)).status, insideStatus);
    }
  });

  test('every route but the health probes is enforced: the API reference, unknown paths, the allowlist itself', async () => {
    for (const path of ['/healthz', '/readyz'])
      assert.equal((await call(OUTSIDE, 'GET', path)).status, 200, path);
    for (const path of ['/api/v1/openapi.json', '/docs', '/api/v1/no-such-route', '/no-such-page']) {
      assertProblem(await call(OUTSIDE, 'GET', path), 403, 'FORBIDDEN');
    }
    assertProblem(await putList(suite.call, admin(), [], { force: true, ip: OUTSIDE }), 403, 'FORBIDDEN');
    assert.equal((await call(INSIDE, 'GET', '/api/v1/openapi.json')).status, 200);
  });

  test('refusals are audited in aggregate: one event, then one count for the rest of the minute', async () => {
    const key = await createKey(suite.server, { roles: ['ADMIN'] });
    const before = (await auditRows(suite.server)).length;
    for (let i = 0; i < 30; i++) {
      assertProblem(await call(OUTSIDE, 'GET', '/api/v1/secrets', { token: key.apiKey }), 403, 'FORBIDDEN');
    }
    const during = (await auditRows(suite.server)).slice(before);
    assert.deepEqual(
      during.map((e) => [e.actor_type, e.outcome, e.object_type, e.ip, e.detail]),
      [
        [
          'ANONYMOUS',
          'DENIED',
          'SECRET',
          OUTSIDE,
          `FORBIDDEN: Requests from ${OUTSIDE} are not allowed by the IP allowlist`,
        ],
      ],
    );
    await window.close();
    const added = (await auditRows(suite.server)).slice(before);
    assert.equal(added.length, 2);
    assert.equal(
      added[1]?.detail,
      `FORBIDDEN: 29 more denials from this client within a minute of its first (the last: Requests from ${OUTSIDE} are not allowed by the IP allowlist)`,
    );
  });

  test('a change is enforced on the next request; an empty list lets everyone in again', async () => {
    await setList(suite.call, admin(), [{ address: '203.0.113.0/24' }]);
    assertProblem(await call(INSIDE, 'GET', '/api/v1/me', { token: admin() }), 403, 'FORBIDDEN');
    assert.equal((await call(OUTSIDE, 'GET', '/api/v1/me', { token: admin() })).status, 200);
    const emptied = await putList(suite.call, admin(), [], { ip: OUTSIDE });
    assert.equal(emptied.status, 200, emptied.text);
    for (const ip of [INSIDE, OUTSIDE, '::1'])
      assert.equal((await call(ip, 'GET', '/api/v1/me', { token: admin() })).status, 200);
  });

  test('the check answers from memory once the list is read, and reads it again after a change', async () => {
    const gate = createIpAllowlistGate(suite.server.store.db, createLocalNoticeBus());
    const first = gate.admits(INSIDE);
    assert.ok(first instanceof Promise, 'the first check reads storage');
    assert.equal(await first, true);
    assert.equal(gate.admits(INSIDE), true);
    assert.equal(gate.admits(OUTSIDE), false);
    await gate.changed();
    assert.ok(gate.admits(INSIDE) instanceof Promise, 'a change drops the copy');
  });
});

describe('a list that cannot be read', () => {
  // Without a change-notice bus (as on PostgreSQL without Redis), every check reads storage.
  const suite = useTestServer({
    eachTest: true,
    app: { trustProxy: 1, changeNotices: { mode: 'uncached' } },
  });

  test('refuses every request with 503 (never "allowed") until it can be read again', async () => {
    const { db } = suite.server.store;
    const me = () =>
      suite.call('GET', '/api/v1/me', { token: suite.server.adminToken, headers: from(INSIDE) });
    assert.equal((await me()).status, 200);
    await sql`alter table ip_allowlist rename to ip_allowlist_away`.execute(db);
    try {
      const problem = assertProblem(await me(), 503, 'SERVICE_UNAVAILABLE');
      assert.match(problem.detail, /IP allowlist could not be read/);
      assert.doesNotMatch(problem.detail, /ip_allowlist_away|no such table|relation/i);
      assertProblem(await suite.call('GET', '/api/v1/openapi.json'), 503, 'SERVICE_UNAVAILABLE');
      assert.equal((await suite.call('GET', '/healthz')).status, 200);
    } finally {
      await sql`alter table ip_allowlist_away rename to ip_allowlist`.execute(db);
    }
    assert.equal((await me()).status, 200);
  });

  test('without a cache, a change is enforced on the next request', async () => {
    await setList(suite.call, suite.server.adminToken, [{ address: INSIDE }]);
    const me = (ip: string) =>
      suite.call('GET', '/api/v1/me', { token: suite.server.adminToken, headers: from(ip) });
    assert.equal((await me(INSIDE)).status, 200);
    assertProblem(await me(OUTSIDE), 403, 'FORBIDDEN');
  });
});
