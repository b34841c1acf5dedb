/**
 * The secrets change feed across a fleet: a change made on node A wakes a poll waiting on node B
 * within a second. With Redis the change notice wakes it; without Redis (PostgreSQL alone) nodes
 * hear nothing of each other and waiting polls look at storage every 500 ms. Each round's latency
 * (from A's answer to B's) is printed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Cluster, type ClusterNode, clusterSkipReason, startCluster } from '../helpers/cluster.js';

const ROUNDS = 5;

/** Waits on `watcher` for each of ROUNDS changes made on `writer`; returns each round's latency. */
async function wakeLatencies(cluster: Cluster, writer: ClusterNode, watcher: ClusterNode): Promise<number[]> {
  const token = cluster.adminToken;
  const start = await watcher.call('GET', '/api/v1/secrets/changes', { token });
  assert.equal(start.status, 200, start.text);
  let cursor = start.body.cursor as string;
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const polled = watcher.call('GET', `/api/v1/secrets/changes?since=${cursor}&waitSeconds=30`, {
      token,
      timeoutMs: 35_000,
    });
    // Long enough for the poll to be waiting on B before the change is made.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const tag = `fleet-feed-${randomBytes(4).toString('hex')}`;
    const made = await writer.call('POST', '/api/v1/secrets', {
      token,
      body: { name: 'n', tag, secret: 'v' },
    });
    assert.equal(made.status, 200, made.text);
    const changed = performance.now();
    const reply = await polled;
    latencies.push(performance.now() - changed);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(
      reply.body.changes.map((c: { tag: string; action: string }) => [c.action, c.tag]),
      [['CREATE', tag]],
    );
    cursor = reply.body.cursor;
  }
  return latencies;
}

function report(t: { diagnostic(message: string): void }, what: string, latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  t.diagnostic(
    `${what}: ${latencies.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}; ` +
      `median ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(1)} ms, max ${(sorted.at(-1) as number).toFixed(1)} ms`,
  );
  for (const ms of latencies) assert.ok(ms < 1_000, `${what}: woke after ${ms} ms`);
}

describe('the change feed across two nodes, with Redis', { skip: clusterSkipReason() }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('a change on A wakes a poll waiting on B within a second', async (t) => {
    const [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
    report(t, 'A -> B wake latency (Redis notice)', await wakeLatencies(cluster, a, b));
    report(t, 'B -> A wake latency (Redis notice)', await wakeLatencies(cluster, b, a));
  });
});

describe('the change feed across two nodes, without Redis', { skip: clusterSkipReason() }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2, noRedis: true });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('waiting polls look at storage every 500 ms: a change on A still reaches B within a second', async (t) => {
    const [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
    report(t, 'A -> B wake latency (no Redis: storage polled)', await wakeLatencies(cluster, a, b));
  });
});
