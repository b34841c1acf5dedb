/**
 * Audited writes across a fleet of real node processes, where each change writes its event
 * pending and any node seals: writes and reveals spread over three nodes at once, one node killed
 * with SIGKILL in the middle of them. The survivors' sweeps chain every event of every
 * acknowledged request (the dead node's included) without being asked, and `tessera audit verify`
 * passes on the result.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runTessera } from '../helpers/child-server.js';
import { type Cluster, clusterSkipReason, startCluster } from '../helpers/cluster.js';

describe('audited writes across a fleet', { skip: clusterSkipReason() }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  after(() => cluster?.stop());

  test('a node killed mid-load: every acknowledged event is chained by the others, once, and the chain verifies', async (t) => {
    const [a, b, c] = cluster.nodes as [
      Cluster['nodes'][number],
      Cluster['nodes'][number],
      Cluster['nodes'][number],
    ];
    const token = cluster.adminToken;
    const created = await a.call('POST', '/api/v1/secrets', {
      token,
      body: { tag: 'seal-me', name: 'n', secret: 'v' },
    });
    assert.equal(created.status, 200, created.text);
    const acknowledged: string[] = [];
    /** One client: creates and reveals on `node` until `until` resolves or the node dies. */
    async function client(node: typeof a, name: string, stop: () => boolean) {
      for (let i = 0; !stop(); i++) {
        const reply =
          i % 2 === 0
            ? await node
                .call('POST', '/api/v1/secrets', {
                  token,
                  body: { tag: `${name}-${i}`, name: 'n', secret: 'v' },
                })
                .catch(() => undefined)
            : await node.call('GET', '/api/v1/secrets/seal-me/value', { token }).catch(() => undefined);
        if (reply === undefined) return;
        const requestId = reply.headers.get('x-request-id');
        if (reply.status === 200 && typeof requestId === 'string') acknowledged.push(requestId);
      }
    }
    let stopping = false;
    const stop = () => stopping;
    const clients = [a, b, c].flatMap((node) => [0, 1, 2].map((k) => client(node, `${node.name}${k}`, stop)));
    await new Promise((resolve) => setTimeout(resolve, 800));
    await c.kill();
    await new Promise((resolve) => setTimeout(resolve, 800));
    stopping = true;
    await Promise.all(clients);
    assert.ok(acknowledged.length > 50, `only ${acknowledged.length} requests acknowledged`);

    // No one asks for a seal: the surviving nodes' sweeps chain what the dead node left.
    const started = Date.now();
    let pending = Number.POSITIVE_INFINITY;
    while (Date.now() - started < 10_000) {
      const [row] = await cluster.query<{ n: string }>('select count(*) as n from audit_pending');
      pending = Number(row?.n);
      if (pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(pending, 0, 'events still pending 10 s after the kill');
    t.diagnostic(
      `${acknowledged.length} requests acknowledged; pending emptied ${Date.now() - started} ms after the load`,
    );

    const events = await cluster.query<{ request_id: string }>('select request_id from audit_events');
    const counts = new Map<string, number>();
    for (const { request_id } of events) counts.set(request_id, (counts.get(request_id) ?? 0) + 1);
    const missing = acknowledged.filter((id) => counts.get(id) !== 1);
    assert.deepEqual(
      missing.slice(0, 5),
      [],
      `${missing.length} acknowledged requests without exactly one event`,
    );
    const changes = await cluster.query<{ n: string }>(
      'select count(*) as n from secret_changes where seq < 0',
    );
    assert.equal(Number(changes[0]?.n), 0, 'a change-feed row left unsealed');

    const verify = await runTessera(['audit', 'verify'], {
      DATABASE_URL: cluster.storage.url,
      TESSERA_MASTER_KEY: cluster.masterKey,
    });
    assert.equal(verify.status, 0, `${verify.stdout}${verify.stderr}`);
    assert.match(verify.stdout, /audit log intact/);
  });
});
