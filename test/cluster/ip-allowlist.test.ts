/**
 * The IP allowlist on a real fleet: two `tessera serve` processes on one PostgreSQL and one Redis,
 * trusting one proxy hop (`X-Forwarded-For` names the client). A list saved through one node is
 * enforced by the other within a second (the change notice drops its copy; the time is printed),
 * and a node whose change-notice channel is down does not trust its copy: it reads the list from
 * storage for every request, so a change made elsewhere meanwhile is enforced at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Cluster,
  type ClusterNode,
  clusterSkipReason,
  requiredEnv,
  startCluster,
} from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { from } from '../helpers/ip-allowlist.js';
import { assertProblem } from '../helpers/problem.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const INSIDE = '198.51.100.7';
const OUTSIDE = '203.0.113.9';

describe('the IP allowlist across nodes', { skip: clusterSkipReason() }, () => {
  let redisOfB: TcpProxy;
  let cluster: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    const redis = new URL(requiredEnv('TEST_REDIS_URL'));
    redisOfB = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    const viaProxy = new URL(redis);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(redisOfB.port);
    cluster = await startCluster({
      nodes: 2,
      env: { TESSERA_TRUST_PROXY: '1' },
      nodeEnv: (i): Record<string, string> => (i === 1 ? { REDIS_URL: viaProxy.toString() } : {}),
    });
    [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  });
  after(async () => {
    await redisOfB?.start();
    await cluster?.stop();
    await redisOfB?.stop();
  });

  const me = (node: ClusterNode, ip: string) =>
    node.call('GET', '/api/v1/me', { token: cluster.adminToken, headers: from(ip) });
  const put = (node: ClusterNode, ip: string, entries: { address: string }[]) =>
    node.call('PUT', '/api/v1/ip-allowlist', {
      token: cluster.adminToken,
      headers: from(ip),
      body: { entries },
    });

  /** Polls `node` from `ip` until it answers `status`; the time from `since`, in ms. */
  async function untilAnswers(node: ClusterNode, ip: string, status: number, since: number): Promise<number> {
    for (;;) {
      const reply = await me(node, ip);
      const elapsed = performance.now() - since;
      if (reply.status === status) return elapsed;
      assert.ok(elapsed < 5_000, `node ${node.name} still answers ${reply.status} to ${ip} after 5 s`);
    }
  }

  test('a list saved through A is enforced by B within a second, and emptied through B, by A', async (t) => {
    // Both nodes hold the (empty) list in memory before the change.
    for (const node of [a, b]) assert.equal((await me(node, OUTSIDE)).status, 200);

    const saved = await put(a, INSIDE, [{ address: '198.51.100.0/24' }]);
    const answered = performance.now();
    assert.equal(saved.status, 200, saved.text);
    const enforced = await untilAnswers(b, OUTSIDE, 403, answered);
    t.diagnostic(
      `a list saved through node A was enforced by node B ${enforced.toFixed(1)} ms after A answered`,
    );
    assert.ok(enforced < 1_000, `B enforced the list after ${enforced.toFixed(0)} ms`);
    assertProblem(await me(b, OUTSIDE), 403, 'FORBIDDEN');
    assertProblem(await me(a, OUTSIDE), 403, 'FORBIDDEN');
    assert.equal((await me(b, INSIDE)).status, 200);

    const emptied = await put(b, INSIDE, []);
    const emptiedAt = performance.now();
    assert.equal(emptied.status, 200, emptied.text);
    const lifted = await untilAnswers(a, OUTSIDE, 200, emptiedAt);
    t.diagnostic(
      `a list emptied through node B was lifted by node A ${lifted.toFixed(1)} ms after B answered`,
    );
    assert.ok(lifted < 1_000, `A lifted the list after ${lifted.toFixed(0)} ms`);
  });

  test("B's channel down: B reads the list for every request, so a change through A is enforced at once", async (t) => {
    assert.equal((await me(b, OUTSIDE)).status, 200);
    const from = b.stdout.length;
    await redisOfB.stop();
    try {
      await eventually(
        'B reports its change-notice channel down',
        () => b.linesMatching(/change-notice channel is down/, from).length > 0,
      );
      const saved = await put(a, INSIDE, [{ address: '198.51.100.0/24' }]);
      assert.equal(saved.status, 200, saved.text);
      // No waiting: B heard nothing, and must not answer from what it held.
      assertProblem(await me(b, OUTSIDE), 403, 'FORBIDDEN');
      assert.equal((await me(b, INSIDE)).status, 200);
      const emptied = await put(a, INSIDE, []);
      assert.equal(emptied.status, 200, emptied.text);
      assert.equal((await me(b, OUTSIDE)).status, 200);
    } finally {
      await redisOfB.start();
    }
    t.diagnostic(
      'with its channel down, node B enforced each change made through node A on its next request',
    );
  });
});
