/**
 * Webhooks across a fleet (three processes, PostgreSQL and Redis): a webhook created on one node
 * hears changes made on every node, and each event is sent by one node only (the outbox rows'
 * leases), so a receiver that answers at once gets each exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Cluster,
  type ClusterNode,
  clusterSkipReason,
  createKeyOn,
  startCluster,
} from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { type Receiver, signatureVerifies, startReceiver } from '../helpers/webhooks.js';

const skip = clusterSkipReason() ?? false;

describe('webhooks in a fleet', { skip }, () => {
  let cluster: Cluster;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    cluster = await startCluster({ nodes: 3, env: { TESSERA_WEBHOOK_ALLOW_PRIVATE: 'true' } });
  });
  after(async () => {
    await cluster?.stop();
    await receiver?.stop();
  });

  test('every node’s changes are delivered, each event by one node, once', { timeout: 60_000 }, async () => {
    const a = cluster.nodes[0] as ClusterNode;
    const hook = await a.call('POST', '/api/v1/webhooks', {
      token: cluster.adminToken,
      body: { url: receiver.url, events: ['api_key.created'] },
    });
    assert.equal(hook.status, 200, hook.text);
    // Every node has heard of the webhook once a key created through it is delivered.
    for (const node of cluster.nodes) {
      await eventually(`node ${node.name} routes events to the new webhook`, async () => {
        const { cid } = await createKeyOn(node, cluster.adminToken);
        return eventually(
          `probe of ${node.name}`,
          () => receiver.received.some((e) => e.json.object.id === cid),
          {
            withinMs: 3_000,
          },
        ).then(() => true);
      });
    }
    const before = receiver.received.length;
    const created = await Promise.all(
      cluster.nodes.flatMap((node) =>
        Array.from({ length: 10 }, () => createKeyOn(node, cluster.adminToken)),
      ),
    );
    const cids = new Set(created.map((k) => k.cid));
    await eventually('all 30 events delivered', () =>
      [...cids].every((cid) => receiver.received.some((e) => e.json.object.id === cid)),
    );
    // A moment for any duplicate to arrive: none may.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const mine = receiver.received.slice(before).filter((e) => cids.has(e.json.object.id));
    assert.equal(mine.length, cids.size, 'each event sent once');
    assert.equal(new Set(mine.map((e) => e.headers['tessera-event-id'])).size, cids.size);
    for (const event of mine) assert.ok(signatureVerifies(String(hook.body.secret), event));
  });
});
