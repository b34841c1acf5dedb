/**
 * The failed-authentication budget (src/http/auth-failures.ts): after LIMIT failed attempts in a
 * minute a client's every authentication attempt is 429, valid tokens included; other clients are
 * unaffected; an IPv6 client is its /64; the window passes. The server trusts one proxy (the test,
 * on loopback) to name the client in X-Forwarded-For, so each test speaks as its own client
 * addresses (documentation ranges), and the tests share one
 * server without sharing budgets. Then the same checks with limits that answer with a promise, as
 * Redis does (the access check takes in-memory answers at once: both paths must refuse alike).
 * Last, with PostgreSQL and Redis servers: two real `tessera serve` processes share one budget per
 * client through Redis, configured from the environment.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { createMemoryRateLimiter, type RateDecision, type RateLimiter } from '../../src/http/rate-limiter.js';
import type { MaybePromise } from '../../src/runtime/maybe-promise.js';
import { type Cluster, clusterSkipReason, startCluster } from '../helpers/cluster.js';
import { type CallOptions, client, type Reply } from '../helpers/http.js';
import { assertProblem } from '../helpers/problem.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const LIMIT = 4;
let server: TestServer;
let call: ReturnType<typeof client>;
before(async () => {
  server = await startTestServer({ app: { trustProxy: 1, authFailuresPerMinute: LIMIT } });
  call = client(server.url);
});
after(async () => server.close());

/** A call from the client at `ip`. */
function from(ip: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return call(method, path, { ...options, headers: { ...options.headers, 'x-forwarded-for': ip } });
}

/** LIMIT failed attempts from `ip`, each a 401, in every way a credential can fail. */
async function spendBudget(ip: string, send: typeof call = call) {
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

test('after LIMIT failures every attempt is 429, a valid token too; no token is no attempt', async () => {
  const ip = '203.0.113.10';
  await spendBudget(ip);
  assertRefused(await from(ip, 'GET', '/api/v1/me', { token: generateToken() }));
  // The right token gets the same answer: the guesser cannot tell it was right.
  assertRefused(await from(ip, 'GET', '/api/v1/me', { token: server.adminToken }));
  const create = await from(ip, 'POST', '/api/v1/auth/key', {
    token: server.adminToken,
    body: { name: 'never-created', roles: [{ type: 'DEFAULT', role: 'USER' }] },
  });
  assertRefused(create);
  // Without any credential nothing is guessed: the ordinary 401, and public routes still answer.
  assertProblem(await from(ip, 'GET', '/api/v1/me'), 401, 'UNAUTHORIZED');
  assert.equal((await from(ip, 'GET', '/api/v1/openapi.json')).status, 200);

  // The refused call reached no handler: no key of that name exists.
  const keys = await from('203.0.113.99', 'GET', '/api/v1/auth/key', { token: server.adminToken });
  assert.equal(keys.status, 200);
  assert.ok(!keys.text.includes('never-created'));
});

test('other clients are unaffected, and a 403 is no failed authentication', async () => {
  const blocked = '203.0.113.20';
  await spendBudget(blocked);
  assertRefused(await from(blocked, 'GET', '/api/v1/me', { token: server.adminToken }));

  const other = '203.0.113.21';
  assert.equal((await from(other, 'GET', '/api/v1/me', { token: server.adminToken })).status, 200);
  const created = await from(other, 'POST', '/api/v1/auth/key', {
    token: server.adminToken,
    body: { name: 'read-only', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
  });
  assert.equal(created.status, 200, created.text);
  // A valid key without the permission is authenticated: its 403s spend nothing.
  for (let i = 0; i < 2 * LIMIT; i++) {
    const reply = await from(other, 'GET', '/api/v1/auth/key', { token: created.body.apiKey });
    assertProblem(reply, 403, 'FORBIDDEN');
  }
  assert.equal((await from(other, 'GET', '/api/v1/me', { token: created.body.apiKey })).status, 200);
  // Its own failures are counted from zero.
  assertProblem(await from(other, 'GET', '/api/v1/me', { token: generateToken() }), 401, 'UNAUTHORIZED');
});

test('an IPv6 client is its /64: fresh addresses in it share the budget, a neighbour does not', async () => {
  await spendBudget('2001:db8:0:1::1');
  assertRefused(await from('2001:db8:0:1::beef', 'GET', '/api/v1/me', { token: server.adminToken }));
  assertRefused(
    await from('2001:0db8:0000:0001:ffff:ffff:ffff:ffff', 'GET', '/api/v1/me', { token: server.adminToken }),
  );
  assert.equal(
    (await from('2001:db8:0:2::1', 'GET', '/api/v1/me', { token: server.adminToken })).status,
    200,
  );
});

test('denials within the budget are audited; the refusals past it are not (no log flooding)', async () => {
  const ip = '203.0.113.30';
  await spendBudget(ip);
  for (let i = 0; i < 3; i++) assertRefused(await from(ip, 'GET', '/api/v1/me', { token: generateToken() }));
  const reply = await from('203.0.113.99', 'GET', `/api/v1/audit-logs?actorIpAddresses=${ip}`, {
    token: server.adminToken,
  });
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.body.total, LIMIT);
  for (const entry of reply.body.logs) {
    assert.equal(entry.outcome, 'DENIED');
    assert.match(entry.detail, /^UNAUTHORIZED: /);
  }
});

test('the budget comes back when the window has passed', async () => {
  const ip = '203.0.113.40';
  await spendBudget(ip);
  assertRefused(await from(ip, 'GET', '/api/v1/me', { token: server.adminToken }));
  server.advance(59_000);
  assertRefused(await from(ip, 'GET', '/api/v1/me', { token: server.adminToken }));
  server.advance(1_000);
  assert.equal((await from(ip, 'GET', '/api/v1/me', { token: server.adminToken })).status, 200);
  // A whole fresh budget, not one attempt.
  await spendBudget(ip);
  assertRefused(await from(ip, 'GET', '/api/v1/me', { token: generateToken() }));
});

/** A limiter whose every answer comes on a later turn, as one over the network does. */
function answeringLater(inner: RateLimiter): RateLimiter {
  const later = (answer: () => MaybePromise<RateDecision>) =>
    new Promise<RateDecision>((resolve, reject) =>
      setImmediate(() => Promise.resolve(answer()).then(resolve, reject)),
    );
  return {
    consume: (key) => later(() => inner.consume(key)),
    peek: (key) => later(() => inner.peek(key)),
    close: async () => inner.close(),
  };
}

describe('limits that answer later, as Redis does', () => {
  const PER_MINUTE = 10;
  let later: TestServer;
  let send: ReturnType<typeof client>;
  before(async () => {
    later = await startTestServer({
      app: {
        trustProxy: 1,
        rateLimiter: answeringLater(createMemoryRateLimiter(PER_MINUTE)),
        authFailureLimiter: answeringLater(createMemoryRateLimiter(LIMIT)),
      },
    });
    send = client(later.url);
  });
  after(async () => later?.close());

  test('spent failures refuse the valid token; another client passes', async () => {
    const ip = '198.51.100.10';
    await spendBudget(ip, send);
    const as = (address: string) => ({ token: later.adminToken, headers: { 'x-forwarded-for': address } });
    assertRefused(await send('GET', '/api/v1/me', as(ip)));
    assert.equal((await send('GET', '/api/v1/me', as('198.51.100.11'))).status, 200);
  });

  test("a key's rate limit refuses the call past it, with the limit's headers", async () => {
    const as = { token: later.adminToken, headers: { 'x-forwarded-for': '198.51.100.20' } };
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

describe('a fleet: one budget per client across the nodes', { skip: clusterSkipReason() }, () => {
  let fleet: Cluster;
  before(async () => {
    fleet = await startCluster({
      nodes: 2,
      env: { TESSERA_TRUST_PROXY: '1', TESSERA_AUTH_FAILURES_PER_MINUTE: String(LIMIT) },
    });
  });
  after(async () => fleet?.stop());

  test('failures spent on node A refuse the valid token on node B; other clients pass', async () => {
    const [a, b] = fleet.nodes as [Cluster['nodes'][0], Cluster['nodes'][0]];
    // Redis outlives the fleet and every fleet shares its keys: a client /64 of this run's own.
    const network = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    const as = (ip: string) => ({ token: fleet.adminToken, headers: { 'x-forwarded-for': ip } });
    await spendBudget(`${network}::1`, a.call);
    assertRefused(await b.call('GET', '/api/v1/me', as(`${network}::2`)));
    assertRefused(await a.call('GET', '/api/v1/me', as(`${network}::3`)));
    assert.equal((await b.call('GET', '/api/v1/me', as('2001:db8:ffff:ffff::1'))).status, 200);
  });
});
