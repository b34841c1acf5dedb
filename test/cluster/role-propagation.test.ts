/**
 * A custom role edited or its key's grants changed on one node reach every other node within a
 * second, though each holds the key in its token cache: the role's own change notice drops every
 * cached key holding it (token-cache.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Cluster, type ClusterNode, clusterSkipReason, startCluster } from '../helpers/cluster.js';

describe('role edits across a fleet', { skip: clusterSkipReason() }, () => {
  let cluster: Cluster;
  let nodes: ClusterNode[];
  before(async () => {
    cluster = await startCluster({ nodes: 2 });
    nodes = cluster.nodes;
  });
  after(async () => {
    await cluster?.stop();
  });

  test("a role's new permissions hold on every node within a second of the edit answering", async (t) => {
    const [first, second] = nodes as [ClusterNode, ClusterNode];
    const token = cluster.adminToken;
    const tag = `fleet-role-${randomBytes(4).toString('hex')}`;
    const made = await first.call('POST', '/api/v1/roles', {
      token,
      body: { tag, name: 'fleet', permissions: ['VIEW_AUDIT_LOGS'] },
    });
    assert.equal(made.status, 200, made.text);
    const key = await first.call('POST', '/api/v1/auth/key', {
      token,
      body: { name: 'fleet-role-key', roles: [{ type: 'CUSTOM', tag }] },
    });
    assert.equal(key.status, 200, key.text);
    const holder = key.body.apiKey as string;
    // Both nodes cache the key: from storage, then from memory.
    for (const node of nodes) {
      for (let i = 0; i < 2; i++) {
        const reply = await node.call('GET', '/api/v1/audit-logs?pageSize=1', { token: holder });
        assert.equal(reply.status, 200, `node ${node.name}: ${reply.text}`);
      }
    }

    /** How long after `since` each node first answers `path` with `status` (3 s at most). */
    const seenAfter = (since: number, path: string, status: number) =>
      Promise.all(
        nodes.map(async (node) => {
          for (;;) {
            const reply = await node.call('GET', path, { token: holder });
            const elapsed = performance.now() - since;
            if (reply.status === status || elapsed > 3_000) return elapsed;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }),
      );
    const assertWithinASecond = (what: string, latencies: number[]) => {
      t.diagnostic(`${what}: ${nodes.map((n, i) => `${n.name} ${latencies[i]?.toFixed(1)} ms`).join(', ')}`);
      for (const ms of latencies) assert.ok(ms < 1_000, `${what}: still stale after ${ms} ms`);
    };

    const edited = await second.call('PUT', `/api/v1/roles/${tag}`, {
      token,
      body: { name: 'fleet', permissions: ['CREATE_SECRETS'] },
    });
    assert.equal(edited.status, 200, edited.text);
    const since = performance.now();
    const [lost, gained] = await Promise.all([
      seenAfter(since, '/api/v1/audit-logs?pageSize=1', 403),
      seenAfter(since, '/api/v1/secrets?pageSize=1', 200),
    ]);
    assertWithinASecond('VIEW_AUDIT_LOGS withdrawn', lost);
    assertWithinASecond('CREATE_SECRETS granted', gained);
  });
});
