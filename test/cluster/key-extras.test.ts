/**
 * A key's extras on a real fleet (two `tessera serve` processes on one PostgreSQL and one Redis):
 * a token rolled on one node is refused by the other within a second (the propagation time is
 * printed), a key's own rate limit is one budget across the fleet, and `lastUsedDate` keeps the
 * latest use whichever node saw it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Cluster, type ClusterNode, clusterSkipReason, startCluster } from '../helpers/cluster.js';
import { assertProblem } from '../helpers/problem.js';

describe('key extras across nodes', { skip: clusterSkipReason() }, () => {
  let cluster: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    cluster = await startCluster({ nodes: 2 });
    [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  });
  after(() => cluster?.stop());

  async function createKey(node: ClusterNode, extras: Record<string, unknown> = {}) {
    const reply = await node.call('POST', '/api/v1/auth/key', {
      token: cluster.adminToken,
      body: { name: 'fleet key', roles: [{ type: 'DEFAULT', role: 'USER' }], ...extras },
    });
    assert.equal(reply.status, 200, reply.text);
    return reply.body as { cid: string; apiKey: string };
  }

  test('a token rolled on A with no grace is refused by B within a second', async (t) => {
    const key = await createKey(a);
    // Both nodes hold it in their caches.
    for (const node of [a, b]) {
      for (let i = 0; i < 2; i++) {
        assert.equal((await node.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
      }
    }
    const rolled = await a.call('POST', `/api/v1/auth/key/${key.cid}/roll`, {
      token: cluster.adminToken,
      body: { expireOldAfterSeconds: 0 },
    });
    const answered = performance.now();
    assert.equal(rolled.status, 200, rolled.text);
    let refusedAfter: number | undefined;
    for (;;) {
      const reply = await b.call('GET', '/api/v1/me', { token: key.apiKey });
      const elapsed = performance.now() - answered;
      if (reply.status === 401) {
        assertProblem(reply, 401, 'UNAUTHORIZED');
        refusedAfter = elapsed;
        break;
      }
      assert.equal(reply.status, 200, reply.text);
      if (elapsed > 3_000) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    t.diagnostic(
      `old token refused by node B ${refusedAfter?.toFixed(1) ?? 'never'} ms after the roll answered`,
    );
    assert.ok(
      refusedAfter !== undefined && refusedAfter < 1_000,
      `node B accepted it for ${refusedAfter} ms`,
    );
    for (const node of [a, b]) {
      assert.equal((await node.call('GET', '/api/v1/me', { token: rolled.body.apiKey })).status, 200);
    }
  });

  test('with a grace, both nodes accept both tokens', async () => {
    const key = await createKey(a);
    assert.equal((await b.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    const rolled = await a.call('POST', `/api/v1/auth/key/${key.cid}/roll`, {
      token: cluster.adminToken,
      body: { expireOldAfterSeconds: 300 },
    });
    assert.equal(rolled.status, 200, rolled.text);
    for (const node of [a, b]) {
      for (const token of [key.apiKey, rolled.body.apiKey]) {
        assert.equal((await node.call('GET', '/api/v1/me', { token })).status, 200, `node ${node.name}`);
      }
    }
  });

  test("a key's own rate limit is one budget across the fleet", async () => {
    const key = await createKey(a, { rateLimitPerMinute: 3 });
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await (i % 2 === 0 ? a : b).call('GET', '/api/v1/me', { token: key.apiKey })).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  });

  test('lastUsedDate is the latest use, whichever node saw it (written at the latest when nodes stop)', async () => {
    const key = await createKey(a);
    assert.equal((await a.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    const betweenUses = new Date().toISOString();
    assert.equal((await b.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    // B's later use is flushed first, A's earlier one after it: the stored time stays B's.
    await b.stop();
    await a.stop();
    const [row] = await cluster.query<{ last_used_at: string | null }>(
      'select last_used_at from api_keys where cid = $1',
      [key.cid],
    );
    assert.ok(
      row?.last_used_at != null && row.last_used_at >= betweenUses,
      `${row?.last_used_at} < ${betweenUses}`,
    );
  });
});
