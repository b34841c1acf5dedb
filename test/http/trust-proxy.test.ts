/**
 * TESSERA_TRUST_PROXY over real HTTP (src/http/trust-proxy.ts): behind trusted proxies the client
 * is the address the nearest untrusted hop appended, the right-most such X-Forwarded-For entry,
 * never one the client wrote itself; that address is what the audit log records and what the
 * per-client rate limit counts. The test is the proxy: it sends, from loopback, the header a proxy
 * would forward for a client that forged `6.6.6.6` (`X-Forwarded-For: 6.6.6.6, <client>`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TrustProxy } from '../../src/http/trust-proxy.js';
import { auditRows } from '../helpers/audit.js';
import { client } from '../helpers/http.js';
import { type SuiteServer, type TestServer, useTestServer } from '../helpers/server.js';

const FORGED = '6.6.6.6';

/**
 * A server trusting `trustProxy`, with budgets of 2 requests a minute per key and per client: each
 * describe block below makes at most two calls as the admin.
 */
function serverTrusting(trustProxy: TrustProxy): SuiteServer {
  return useTestServer({ rateLimitPerMinute: 2, app: { trustProxy } });
}

let secrets = 0;

/** The IP the audit log recorded for a secret the admin creates with `forwardedFor`. */
async function auditedIp(server: TestServer, forwardedFor: string): Promise<string | null> {
  const reply = await client(server.url)('POST', '/api/v1/secrets', {
    token: server.adminToken,
    headers: { 'x-forwarded-for': forwardedFor },
    body: { name: 'audited', tag: `audited-${++secrets}`, secret: 'v' },
  });
  assert.equal(reply.status, 200, reply.text);
  const requestId = reply.headers.get('x-request-id');
  const row = (await auditRows(server)).find((r) => r.request_id === requestId && r.action === 'CREATE');
  assert.ok(row !== undefined, `no CREATE event for request ${requestId}`);
  return row.ip;
}

/** The statuses of anonymous, per-client-metered calls, each with its `X-Forwarded-For`. */
async function anonymous(server: TestServer, ...forwardedFor: string[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const header of forwardedFor) {
    const reply = await client(server.url)('GET', '/api/v1/openapi.json', {
      headers: { 'x-forwarded-for': header },
    });
    statuses.push(reply.status);
  }
  return statuses;
}

describe('a hop count: TESSERA_TRUST_PROXY=1', () => {
  const suite = serverTrusting(1);

  test('the audit log records the entry the proxy appended, not the forged one', async () => {
    assert.equal(await auditedIp(suite.server, `${FORGED}, 203.0.113.5`), '203.0.113.5');
  });

  test('the rate limit counts per appended entry: a forged prefix neither escapes nor spends a budget', async () => {
    // Two clients forge the same left-most address: each still has a budget of its own, and
    // rotating the forged entry gains the first client nothing.
    assert.deepEqual(
      await anonymous(
        suite.server,
        `${FORGED}, 203.0.113.21`,
        `7.7.7.7, 203.0.113.21`,
        `8.8.8.8, 203.0.113.21`,
      ),
      [200, 200, 429],
    );
    assert.deepEqual(await anonymous(suite.server, `${FORGED}, 203.0.113.22`), [200]);
  });

  test('whatever stands left of the right-most entry is ignored', async () => {
    assert.equal(await auditedIp(suite.server, `${FORGED}, 203.0.113.5, 192.0.2.1`), '192.0.2.1');
  });
});

describe('two hops: TESSERA_TRUST_PROXY=2', () => {
  const suite = serverTrusting(2);

  test('the entry the outer proxy appended is the client; the inner proxy is not', async () => {
    assert.equal(await auditedIp(suite.server, `${FORGED}, 203.0.113.6, 10.0.0.2`), '203.0.113.6');
  });
});

describe('addresses and CIDRs: TESSERA_TRUST_PROXY=127.0.0.1,::1,10.0.0.0/8', () => {
  const suite = serverTrusting(['127.0.0.1', '::1', '10.0.0.0/8']);

  test('the right-most entry outside the trusted ranges is the client', async () => {
    // Loopback (the test) and 10.1.2.3 are trusted proxies; 203.0.113.7 is the first hop that is not.
    assert.equal(await auditedIp(suite.server, `${FORGED}, 203.0.113.7, 10.1.2.3`), '203.0.113.7');
    assert.equal(await auditedIp(suite.server, `${FORGED}, 203.0.113.8`), '203.0.113.8');
  });

  test('the rate limit counts that client', async () => {
    assert.deepEqual(
      await anonymous(
        suite.server,
        `${FORGED}, 198.51.100.1, 10.0.0.9`,
        `${FORGED}, 198.51.100.1`,
        `198.51.100.1`,
      ),
      [200, 200, 429],
    );
    assert.deepEqual(await anonymous(suite.server, `${FORGED}, 198.51.100.2, 10.0.0.9`), [200]);
  });
});

describe('a peer outside the trusted list names no one', () => {
  const suite = serverTrusting(['10.0.0.0/8']);

  test('the socket address is the client, whatever X-Forwarded-For says', async () => {
    const ip = await auditedIp(suite.server, `${FORGED}, 203.0.113.9`);
    assert.ok(ip === '127.0.0.1' || ip === '::ffff:127.0.0.1', `recorded ${ip}`);
  });
});
