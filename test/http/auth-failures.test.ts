/**
 * The failed-authentication budget (src/http/auth-failures.ts): after LIMIT failed attempts in a
 * minute a client's further failures are 429 instead of 401, while a valid token from the same
 * address still passes (the budget limits failures only); other clients are unaffected; an IPv6
 * client is its /64; the window passes; and concurrent guesses cannot overdraw it (the check and
 * the spend are one step). The server trusts one proxy (the test, on loopback) to name the client in
 * X-Forwarded-For, so each test speaks as its own
 * client addresses (documentation ranges), and the tests share one server without sharing budgets.
 * Then the same checks with limits that answer with a promise, as Redis does (the access check
 * takes in-memory answers at once: both paths must refuse alike), and on a real Redis when
 * TEST_REDIS_URL is set. Last, with PostgreSQL and Redis servers: two real `tessera serve`
 * processes share one budget per client through Redis, configured from the environment.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRedisRateLimiter } from '../../src/cluster/redis.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { createMemoryRateLimiter, type RateDecision, type RateLimiter } from '../../src/http/rate-limiter.js';
import type { MaybePromise } from '../../src/runtime/maybe-promise.js';
import { manualDenialWindow } from '../helpers/audit.js';
import { type Cluster, clusterSkipReason, startCluster } from '../helpers/cluster.js';
import type { CallOptions, Reply } from '../helpers/http.js';
import type { Call } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { NEEDS_REDIS, patientRedis } from '../helpers/redis.js';
import { useTestServer } from '../helpers/server.js';

const LIMIT = 4;
const denialWindow = manualDenialWindow();
const suite = useTestServer({
  app: { trustProxy: 1, authFailuresPerMinute: LIMIT, denialWindow: denialWindow.open },
});

/** A call from the client at `ip`. */
function from(ip: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return suite.call(method, path, { ...options, headers: { ...options.headers, 'x-forwarded-for': ip } });
}

/** LIMIT failed attempts from `ip`, each a 401, in every way a credential can fail. */
async function spendBudget(ip: string, send: Call = suite.call) {
  const failing: CallOptions[] = [
    { token: generateToken() }, // well-formed, unknown
    { headers: { authorization: 'Bearer tsk_malformed' } },
    { headers: { authorization: 'Basic dXNlcjpwYXNz' } },
    { token: generateToken() },
  ];
  for (const options of failing.slice(0, LIMIT)) {
    const headers = { ...options.headers, 'x-forwarded-for': ip };
    assertProblem(await send('GET', '/api/v1/me', { ...options, headers }), 401, 'UNAUTHORIZED');
  }
}

function assertRefused(reply: Reply) {
  const problem = assertProblem(reply, 429, 'TOO_MANY_REQUESTS');
  assert.ok(problem.retryAfter >= 1 && problem.retryAfter <= 60, `retryAfter ${problem.retryAfter}`);
  assert.equal(reply.headers.get('retry-after'), String(problem.retryAfter));
  assert.doesNotMatch(reply.text, /tsk_/);
}

/** A well-formed token no key has: its checksum passes, so it is looked up in storage. */
const unknownToken = () => ({ token: generateToken() });

test("another client's garbage spends the budget; the admin's valid token from that address still passes", async () => {
  const ip = '203.0.113.10';
  const garbage = [
    { headers: { authorization: 'Bearer tsk_malformed' } },
    { headers: { authorization: 'Basic dXNlcjpwYXNz' } },
    { headers: { authorization: 'Bearer' } },
    unknownToken(),
  ];
  const statuses: number[] = [];
  for (let i = 0; i < 24; i++) {
    const reply = await from(ip, 'GET', '/api/v1/me', garbage[i % garbage.length]);
    statuses.push(reply.status);
    if (reply.status === 429) assertRefused(reply);
  }
  assert.deepEqual(statuses, [...Array(LIMIT).fill(401), ...Array(24 - LIMIT).fill(429)]);
  // The budget limits failures only: a valid, permitted token is never refused because of them.
  const me = await from(ip, 'GET', '/api/v1/me', { token: suite.server.adminToken });
  assert.equal(me.status, 200, me.text);
  const created = await from(ip, 'POST', '/api/v1/auth/key', {
    token: suite.server.adminToken,
    body: { name: 'made-behind-the-nat', roles: [{ type: 'DEFAULT', role: 'USER' }] },
  });
  assert.equal(created.status, 200, created.text);
  // ... and the next failure is still refused.
  assertRefused(await from(ip, 'GET', '/api/v1/me', unknownToken()));
  // Without any credential nothing is guessed: the ordinary 401, and public routes still answer.
  assertProblem(await from(ip, 'GET', '/api/v1/me'), 401, 'UNAUTHORIZED');
  assert.equal((await from(ip, 'GET', '/api/v1/openapi.json')).status, 200);
});

test('other clients are unaffected, and a 403 is no failed authentication', async () => {
  const blocked = '203.0.113.20';
  await spendBudget(blocked);
  assertRefused(await from(blocked, 'GET', '/api/v1/me', unknownToken()));

  const other = '203.0.113.21';
  assertProblem(await from(other, 'GET', '/api/v1/me', unknownToken()), 401, 'UNAUTHORIZED');
  const created = await from(other, 'POST', '/api/v1/auth/key', {
    token: suite.server.adminToken,
    body: { name: 'read-only', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
  });
  assert.equal(created.status, 200, created.text);
  // A valid key without the permission is authenticated: its 403s spend nothing.
  for (let i = 0; i < 2 * LIMIT; i++) {
    const reply = await from(other, 'GET', '/api/v1/auth/key', { token: created.body.apiKey });
    assertProblem(reply, 403, 'FORBIDDEN');
  }
  // One failure so far: LIMIT - 1 more are 401s, then 429.
  for (let i = 1; i < LIMIT; i++) {
    assertProblem(await from(other, 'GET', '/api/v1/me', unknownToken()), 401, 'UNAUTHORIZED');
  }
  assertRefused(await from(other, 'GET', '/api/v1/me', unknownToken()));
});

test('an IPv6 client is its /64: fresh addresses in it share the budget, a neighbour does not', async () => {
  await spendBudget('2001:db8:0:1::1');
  assertRefused(await from('2001:db8:0:1::beef', 'GET', '/api/v1/me', unknownToken()));
  assertRefused(await from('2001:0db8:0000:0001:ffff:ffff:ffff:ffff', 'GET', '/api/v1/me', unknownToken()));
  assert.equal(
    (await from('2001:db8:0:1::beef', 'GET', '/api/v1/me', { token: suite.server.adminToken })).status,
    200,
  );
  assertProblem(await from('2001:db8:0:2::1', 'GET', '/api/v1/me', unknownToken()), 401, 'UNAUTHORIZED');
});

test('denials within the budget are audited (the first, then a count); the refusals past it are not', async () => {
  const ip = '203.0.113.30';
  await spendBudget(ip);
  for (let i = 0; i < 3; i++) assertRefused(await from(ip, 'GET', '/api/v1/me', unknownToken()));
  await denialWindow.close();
  const reply = await from('203.0.113.99', 'GET', `/api/v1/audit-logs?actorIpAddresses=${ip}`, {
    token: suite.server.adminToken,
  });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(
    reply.body.logs.map((entry: { outcome: string; detail: string }) => [entry.outcome, entry.detail]),
    // Newest first.
    [
      [
        'DENIED',
        `UNAUTHORIZED: ${LIMIT - 1} more denials from this client within a minute of its first (the last: Invalid API key)`,
      ],
      ['DENIED', 'UNAUTHORIZED: Invalid API key'],
    ],
  );
});

test('the budget comes back when the window has passed', async () => {
  const ip = '203.0.113.40';
  await spendBudget(ip);
  assertRefused(await from(ip, 'GET', '/api/v1/me', unknownToken()));
  suite.server.advance(59_000);
  assertRefused(await from(ip, 'GET', '/api/v1/me', unknownToken()));
  suite.server.advance(1_000);
  // A whole fresh budget, not one attempt.
  await spendBudget(ip);
  assertRefused(await from(ip, 'GET', '/api/v1/me', unknownToken()));
});

/**
 * `count` requests at once from `ip`, each with a well-formed token no key has, so every one waits
 * for a storage look-up: the statuses they got, counted.
 */
async function guessAtOnce(send: Call, ip: string, count: number): Promise<Record<number, number>> {
  const replies = await Promise.all(
    Array.from({ length: count }, () =>
      send('GET', '/api/v1/me', { ...unknownToken(), headers: { 'x-forwarded-for': ip } }),
    ),
  );
  const statuses: Record<number, number> = {};
  for (const reply of replies) statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
  return statuses;
}

test('300 concurrent guesses get at most LIMIT 401s, the rest 429', async () => {
  const statuses = await guessAtOnce(suite.call, '203.0.113.50', 300);
  assert.deepEqual(statuses, { 401: LIMIT, 429: 300 - LIMIT });
});

/** A limiter whose every answer comes on a later turn, as one over the network does. */
function answeringLater(inner: RateLimiter): RateLimiter {
  const later = (answer: () => MaybePromise<RateDecision>) =>
    new Promise<RateDecision>((resolve, reject) =>
      setImmediate(() => Promise.resolve(answer()).then(resolve, reject)),
    );
  return {
    consume: (key) => later(() => inner.consume(key)),
    close: async () => inner.close(),
  };
}

describe('limits that answer later, as Redis does', () => {
  const PER_MINUTE = 10;
  const later = useTestServer({
    app: {
      trustProxy: 1,
      rateLimiter: answeringLater(createMemoryRateLimiter(PER_MINUTE)),
      authFailureLimiter: answeringLater(createMemoryRateLimiter(LIMIT)),
    },
  });
  const send = later.call;

  test('spent failures refuse the next failure, not the valid token; another client is unaffected', async () => {
    const ip = '198.51.100.10';
    await spendBudget(ip, send);
    const as = (address: string, options: CallOptions) => ({
      ...options,
      headers: { 'x-forwarded-for': address },
    });
    assertRefused(await send('GET', '/api/v1/me', as(ip, unknownToken())));
    assert.equal((await send('GET', '/api/v1/me', as(ip, { token: later.server.adminToken }))).status, 200);
    assertProblem(await send('GET', '/api/v1/me', as('198.51.100.11', unknownToken())), 401, 'UNAUTHORIZED');
  });

  test('concurrent guesses get at most LIMIT 401s', async () => {
    // The request limit (PER_MINUTE) is per client too: it would answer 429s of its own.
    const statuses = await guessAtOnce(send, '198.51.100.12', 5 * LIMIT);
    assert.equal(statuses[401], LIMIT, JSON.stringify(statuses));
  });

  test("a key's rate limit refuses the call past it, with the limit's headers", async () => {
    const as = { token: later.server.adminToken, headers: { 'x-forwarded-for': '198.51.100.20' } };
    const first = await send('GET', '/api/v1/me', as);
    assert.equal(first.status, 200);
    // Whatever other tests spent of the key's budget, the header says what is left.
    const remaining = Number(first.headers.get('x-ratelimit-remaining'));
    assert.ok(remaining >= 1 && remaining < PER_MINUTE, `remaining ${remaining}`);
    for (let i = 0; i < remaining; i++) assert.equal((await send('GET', '/api/v1/me', as)).status, 200);
    const past = await send('GET', '/api/v1/me', as);
    assertProblem(past, 429, 'TOO_MANY_REQUESTS');
    assert.equal(past.headers.get('x-ratelimit-limit'), String(PER_MINUTE));
    assert.equal(past.headers.get('x-ratelimit-remaining'), '0');
  });
});

describe('the budget on a real Redis', { skip: NEEDS_REDIS }, () => {
  const { redis, ready } = patientRedis();
  const quiet = { warn: () => {}, info: () => {} };
  // Hooks run in the order they are declared: Redis answers before the server starts, and is
  // disconnected after it has closed.
  before(ready);
  const shared = useTestServer({
    app: {
      trustProxy: 1,
      // A fallback that admits nothing: every 401 was admitted by Redis.
      authFailureLimiter: createRedisRateLimiter(redis, LIMIT, createMemoryRateLimiter(0), quiet),
    },
  });
  after(() => redis.disconnect());
  const send = shared.call;

  test('300 concurrent guesses get at most LIMIT 401s, the rest 429; the valid token passes', async () => {
    // Redis outlives the server and other runs share it: a client /64 of this run's own.
    const ip = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1`;
    const statuses = await guessAtOnce(send, ip, 300);
    assert.deepEqual(statuses, { 401: LIMIT, 429: 300 - LIMIT });
    const me = await send('GET', '/api/v1/me', {
      token: shared.server.adminToken,
      headers: { 'x-forwarded-for': ip },
    });
    assert.equal(me.status, 200, me.text);
  });
});

describe('a fleet: one budget per client across the nodes', { skip: clusterSkipReason() }, () => {
  let fleet: Cluster;
  before(async () => {
    fleet = await startCluster({
      nodes: 2,
      env: { TESSERA_TRUST_PROXY: '1', TESSERA_AUTH_FAILURES_PER_MINUTE: String(LIMIT) },
    });
  });
  after(async () => fleet?.stop());

  test('failures spent on node A refuse failures on node B, not the valid token; other clients pass', async () => {
    const [a, b] = fleet.nodes as [Cluster['nodes'][0], Cluster['nodes'][0]];
    // Redis outlives the fleet and every fleet shares its keys: a client /64 of this run's own.
    const network = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    const as = (ip: string, options: CallOptions) => ({ ...options, headers: { 'x-forwarded-for': ip } });
    // A node whose Redis call times out (250 ms) counts on its own for that request, by design:
    // if a refusal below is missing, the nodes' lines about Redis say whether that was why.
    const redisLines = () =>
      fleet.nodes.flatMap((node) => node.linesMatching(/Redis/).map((line) => `${node.name}: ${line}`));
    await spendBudget(`${network}::1`, a.call);
    for (const [node, ip] of [
      [b, `${network}::2`],
      [a, `${network}::3`],
    ] as const) {
      const reply = await node.call('GET', '/api/v1/me', as(ip, unknownToken()));
      assert.equal(
        reply.status,
        429,
        `node ${node.name}: ${reply.status}; Redis lines:\n${redisLines().join('\n')}`,
      );
      assertRefused(reply);
    }
    assert.equal(
      (await b.call('GET', '/api/v1/me', as(`${network}::4`, { token: fleet.adminToken }))).status,
      200,
    );
    assertProblem(
      await b.call(
        'GET',
        '/api/v1/me',
        as(`2001:db8:${randomBytes(2).toString('hex')}:ffff::1`, unknownToken()),
      ),
      401,
      'UNAUTHORIZED',
    );
  });
});
