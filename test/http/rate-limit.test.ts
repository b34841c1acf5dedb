/**
 * SPEC §3 429s with a small budget (5 a minute): per key for valid tokens, per client IP for
 * everything else (invalid tokens included), health probes exempt.
 *
 * One server for the file, and every request comes from 127.0.0.1, so the tests run in order:
 * the first spends only key budgets, the second the IP budget, the third runs on a spent IP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import type { Reply } from '../helpers/http.js';
import { api, createKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { startTestServer, useTestServer } from '../helpers/server.js';

const LIMIT = 5;
// Budgets once spent stay spent for a minute: every test starts with them whole.
const suite = useTestServer({ rateLimitPerMinute: LIMIT, eachTest: true });

function assertRateLimited(reply: Reply) {
  const problem = assertProblem(reply, 429, 'TOO_MANY_REQUESTS');
  assert.ok(Number.isInteger(problem.retryAfter), `retryAfter ${problem.retryAfter}`);
  assert.ok(problem.retryAfter >= 1 && problem.retryAfter <= 60, `retryAfter ${problem.retryAfter}`);
  assert.equal(reply.headers.get('retry-after'), String(problem.retryAfter));
}

test('each key has its own budget', async () => {
  // The admin's first two requests.
  const second = await createKey(suite.server, { roles: ['USER'] });
  await createKey(suite.server, { roles: ['USER'] });
  for (let i = 2; i < LIMIT; i++) {
    assert.equal((await suite.call('GET', '/api/v1/me', { token: suite.server.adminToken })).status, 200);
  }
  assertRateLimited(await suite.call('GET', '/api/v1/me', { token: suite.server.adminToken }));
  // A refused call does not reach its handler: nothing is created past the budget.
  assertRateLimited(
    await suite.call('POST', '/api/v1/auth/key', {
      token: suite.server.adminToken,
      body: { name: 'over-budget', roles: [{ type: 'DEFAULT', role: 'USER' }] },
    }),
  );
  for (let i = 0; i < LIMIT; i++) {
    assert.equal((await suite.call('GET', '/api/v1/me', { token: second.apiKey })).status, 200);
  }
  assertRateLimited(await suite.call('GET', '/api/v1/me', { token: second.apiKey }));
});

test('invalid tokens draw on the client IP budget, then get 429 instead of 401', async () => {
  // Creating a key spends the admin's budget, not the client IP's.
  const spare = await createKey(suite.server, { roles: ['USER'] });
  const invalid = [
    { token: generateToken() },
    { headers: { authorization: 'Bearer tsk_malformed' } },
    {},
    { token: generateToken() },
    { headers: { authorization: 'Basic xyz' } },
  ];
  for (const options of invalid) {
    assertProblem(await suite.call('GET', '/api/v1/auth/key', options), 401, 'UNAUTHORIZED');
  }
  assertRateLimited(await suite.call('GET', '/api/v1/auth/key', { token: generateToken() }));
  assertRateLimited(await suite.call('GET', '/api/v1/me', {}));
  // Unauthenticated routes share the IP budget ...
  assertRateLimited(await suite.call('GET', '/api/v1/openapi.json'));
  // ... while a valid key has its own.
  assert.equal((await suite.call('GET', '/api/v1/me', { token: spare.apiKey })).status, 200);
});

test('/healthz and /readyz are never limited', async () => {
  for (let i = 0; i < LIMIT; i++) await suite.call('GET', '/api/v1/me', {});
  assertRateLimited(await suite.call('GET', '/api/v1/me', {}));
  for (let i = 0; i < 3 * LIMIT; i++) {
    assert.equal((await suite.call('GET', '/healthz')).status, 200);
    assert.equal((await suite.call('GET', '/readyz')).status, 200);
  }
});

test('clients without a key are metered per IPv4 address and per IPv6 /64 network', async () => {
  const limited = await startTestServer({ rateLimitPerMinute: 3, app: { trustProxy: 1 } });
  try {
    const call = api(limited);
    const from = (ip: string) =>
      call('GET', '/api/v1/openapi.json', { headers: { 'x-forwarded-for': ip } }).then((r) => r.status);
    // Four addresses of one /64: one budget of three.
    assert.deepEqual(
      await Promise.all(['2001:db8::1', '2001:db8::2', '2001:db8:0:0:ffff::3'].map(from)),
      [200, 200, 200],
    );
    assert.equal(await from('2001:db8::4'), 429);
    // Another /64, and an IPv4 client, have budgets of their own.
    assert.equal(await from('2001:db8:0:1::1'), 200);
    assert.equal(await from('192.0.2.1'), 200);
    assert.equal(await from('192.0.2.2'), 200);
  } finally {
    await limited.close();
  }
});
