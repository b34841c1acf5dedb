/**
 * Faults (SPEC §3: 503 when storage is unavailable; §8: Redis is optional). Two real nodes reach
 * PostgreSQL and Redis through TCP proxies; stopping a proxy cuts every connection and refuses new
 * ones, as a server going down does. PostgreSQL down: quick, clean 503s, /readyz 503, /healthz 200,
 * recovery without a restart. Redis down: the service keeps answering (per-node rate limits, token
 * cache bypassed, one warning), and shares limits and caches again when Redis returns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Cluster,
  type ClusterNode,
  clusterSkipReason,
  createKeyOn,
  requiredEnv,
  startCluster,
} from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import type { Reply } from '../helpers/http.js';
import { assertProblem } from '../helpers/problem.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** The default TESSERA_RATE_LIMIT_PER_MINUTE (SPEC §8). */
const LIMIT = 1000;
/** Internals that must never reach a client (SPEC §3: 5xx bodies). */
const INTERNALS =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|127\.0\.0\.1|postgres|select |insert |from "|relation|\bat .*\(|node_modules|\.ts:\d|stack/i;

function target(url: string, defaultPort: number) {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port === '' ? defaultPort : Number(parsed.port) };
}

function remaining(reply: Reply): number {
  assert.equal(reply.status, 200, reply.text);
  return Number(reply.headers.get('x-ratelimit-remaining'));
}

describe('faults: PostgreSQL or Redis going away under running nodes', { skip: clusterSkipReason() }, () => {
  let postgres: TcpProxy;
  let redis: TcpProxy;
  let cluster: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    postgres = await startTcpProxy(target(requiredEnv('TEST_DATABASE_URL'), 5432));
    redis = await startTcpProxy(target(requiredEnv('TEST_REDIS_URL'), 6379));
    cluster = await startCluster({ nodes: 2, postgresPort: postgres.port, redisPort: redis.port });
    [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  });
  after(async () => {
    await postgres?.start();
    await redis?.start();
    await cluster?.stop();
    await postgres?.stop();
    await redis?.stop();
  });

  test('PostgreSQL down: 503 within 2 s with no internals, /readyz 503, /healthz 200; recovers by itself', async (t) => {
    const admin = cluster.adminToken;
    // A key this node has never seen: looking it up needs storage, so the answer must be a 503,
    // not a 401 that would tell a client its valid key is bad.
    const unseen = await createKeyOn(b, admin);
    for (const node of cluster.nodes) {
      assert.equal((await node.call('GET', '/api/v1/secrets', { token: admin })).status, 200);
    }

    await postgres.stop();
    try {
      const probes: [ClusterNode, string, string, string][] = [
        [a, 'GET', '/api/v1/secrets', admin],
        [b, 'POST', '/api/v1/secrets', admin],
        [a, 'GET', '/api/v1/auth/key', admin],
        [a, 'GET', '/api/v1/secrets', unseen.apiKey],
      ];
      for (const [node, method, path, token] of probes) {
        const started = performance.now();
        const reply = await node.call(method, path, {
          token,
          ...(method === 'POST' ? { body: { name: 'n', tag: 'during-outage', secret: 's' } } : {}),
        });
        const elapsed = performance.now() - started;
        t.diagnostic(
          `${method} ${path} on ${node.name} with PostgreSQL down: ${reply.status} in ${elapsed.toFixed(1)} ms`,
        );
        assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
        assert.ok(elapsed < 2_000, `${method} ${path} took ${elapsed} ms`);
        assert.doesNotMatch(reply.text, INTERNALS);
      }

      // Many at once: every one answers, within the bound.
      const started = performance.now();
      const burst = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (cluster.nodes[i % 2] as ClusterNode).call('GET', '/api/v1/secrets', { token: admin }),
        ),
      );
      const burstElapsed = performance.now() - started;
      t.diagnostic(`30 concurrent calls with PostgreSQL down answered in ${burstElapsed.toFixed(1)} ms`);
      for (const reply of burst) assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
      assert.ok(burstElapsed < 2_000, `the burst took ${burstElapsed} ms`);

      for (const node of cluster.nodes) {
        const ready = await node.call('GET', '/readyz');
        assertProblem(ready, 503, 'SERVICE_UNAVAILABLE');
        assert.doesNotMatch(ready.text, INTERNALS);
        const alive = await node.call('GET', '/healthz');
        assert.equal(alive.status, 200);
        assert.deepEqual(alive.body, { status: 'ok' });
      }
    } finally {
      await postgres.start();
    }

    const restarted = performance.now();
    await Promise.all(
      cluster.nodes.map((node) =>
        eventually(`node ${node.name} answering 200 again`, async () => {
          const reply = await node.call('GET', '/api/v1/secrets', { token: admin });
          return reply.status === 200 ? true : undefined;
        }),
      ),
    );
    t.diagnostic(
      `both nodes answered 200 ${(performance.now() - restarted).toFixed(1)} ms after PostgreSQL returned`,
    );
    for (const node of cluster.nodes) {
      const ready = await node.call('GET', '/readyz');
      assert.equal(ready.status, 200, ready.text);
      assert.equal(node.exitCode(), undefined, `node ${node.name} exited`);
    }
    // Nothing was half-written by the refused POST.
    assert.deepEqual(await cluster.query("select id from secrets where tag = 'during-outage'"), []);
    assert.equal((await a.call('GET', '/api/v1/secrets', { token: unseen.apiKey })).status, 200);
  });

  test('PostgreSQL going away under in-flight requests: every request answered, no node dies', async (t) => {
    const admin = cluster.adminToken;
    let running = true;
    const statuses = new Map<number, number>();
    // Writes (transactions of several statements) and reads, back to back on both nodes.
    const workers = Array.from({ length: 8 }, async (_, w) => {
      const node = cluster.nodes[w % 2] as ClusterNode;
      for (let i = 0; running; i++) {
        const reply =
          w % 4 === 0
            ? await node.call('GET', '/api/v1/auth/key', { token: admin })
            : await node.call('POST', '/api/v1/secrets', {
                token: admin,
                body: { name: 'in flight', tag: `inflight-${w}-${i}-${Date.now()}`, secret: 'v' },
              });
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status !== 200) {
          assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
    const settled = Promise.allSettled(workers);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await postgres.stop();
      await new Promise((resolve) => setTimeout(resolve, 400));
      await postgres.start();
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      running = false;
      await postgres.start();
    }
    const results = await settled;
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    for (const node of cluster.nodes) {
      assert.equal(node.exitCode(), undefined, `node ${node.name} died:\n${node.stderr.join('\n')}`);
    }
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    assert.ok((statuses.get(503) ?? 0) > 0, 'the outage was seen');
    for (const node of cluster.nodes) {
      await eventually(`node ${node.name} answering 200 again`, async () => {
        const reply = await node.call('GET', '/api/v1/secrets', { token: admin });
        return reply.status === 200 ? true : undefined;
      });
    }
  });

  test('Redis down: service goes on with per-node limits and no token cache, one warning; all back after', async (t) => {
    const admin = cluster.adminToken;
    const revoked = await createKeyOn(a, admin);
    for (const node of cluster.nodes) {
      for (let i = 0; i < 2; i++) {
        assert.equal((await node.call('GET', '/api/v1/secrets', { token: revoked.apiKey })).status, 200);
      }
    }
    const fromA = a.stdout.length;
    const fromB = b.stdout.length;

    await redis.stop();
    try {
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (cluster.nodes[i % 2] as ClusterNode).call('GET', '/api/v1/secrets', { token: admin }),
        ),
      );
      assert.deepEqual(
        replies.map((reply) => reply.status),
        replies.map(() => 200),
      );

      // Each node counts on its own: a fresh key starts a fresh budget on each.
      const local = await createKeyOn(a, admin);
      const call = (node: ClusterNode) => node.call('GET', '/api/v1/secrets', { token: local.apiKey });
      assert.equal(remaining(await call(a)), LIMIT - 1);
      assert.equal(remaining(await call(b)), LIMIT - 1);
      assert.equal(remaining(await call(a)), LIMIT - 2);

      for (const [node, from] of [
        [a, fromA],
        [b, fromB],
      ] as const) {
        const warnings = node.linesMatching(/Redis is unreachable/, from);
        assert.equal(warnings.length, 1, `node ${node.name}: ${warnings.join('\n')}`);
        assert.equal(JSON.parse(warnings[0] as string).level, 40, 'logged as a warning');
      }

      // B cached the key before Redis went; B cannot hear the delete, so it must not trust its cache.
      const started = performance.now();
      const deleted = await a.call('DELETE', `/api/v1/auth/key/${revoked.cid}`, { token: admin, body: {} });
      t.diagnostic(`delete with Redis down answered in ${(performance.now() - started).toFixed(1)} ms`);
      assert.equal(deleted.status, 200, deleted.text);
      for (const node of [b, a]) {
        const reply = await node.call('GET', '/api/v1/secrets', { token: revoked.apiKey });
        assertProblem(reply, 401, 'UNAUTHORIZED');
      }
    } finally {
      await redis.start();
    }

    const restarted = performance.now();
    for (const [node, from] of [
      [a, fromA],
      [b, fromB],
    ] as const) {
      await eventually(`node ${node.name} using Redis again`, async () => {
        // Rate limiting notices Redis on the next request; the channel reconnects by itself.
        await node.call('GET', '/api/v1/secrets', { token: admin });
        const back = node.linesMatching(/Redis is back/, from).length > 0;
        const channel = node.linesMatching(/change-notice channel is back/, from).length > 0;
        return back && channel ? true : undefined;
      });
    }
    t.diagnostic(
      `Redis back in use on both nodes ${(performance.now() - restarted).toFixed(1)} ms after it returned`,
    );
    for (const node of [a, b]) {
      const lines = node.linesMatching(/Redis is (unreachable|back)|channel is/);
      t.diagnostic(
        `node ${node.name}: ${lines
          .map((l) => {
            const j = JSON.parse(l);
            return `${j.time} ${j.msg}`;
          })
          .join(' | ')}`,
      );
    }

    // One budget across the fleet again.
    const shared = await createKeyOn(a, admin);
    const call = (node: ClusterNode) => node.call('GET', '/api/v1/secrets', { token: shared.apiKey });
    assert.equal(remaining(await call(a)), LIMIT - 1);
    assert.equal(remaining(await call(b)), LIMIT - 2);
    assert.equal(remaining(await call(a)), LIMIT - 3);

    // The cache is on again: B serves a key it cached even after its row is removed behind
    // Tessera's back (no change notice)...
    const cached = await createKeyOn(a, admin);
    for (let i = 0; i < 2; i++) {
      assert.equal((await b.call('GET', '/api/v1/secrets', { token: cached.apiKey })).status, 200);
    }
    await cluster.query('delete from api_keys where cid = $1', [cached.cid]);
    assert.equal(
      (await b.call('GET', '/api/v1/secrets', { token: cached.apiKey })).status,
      200,
      'served from the token cache',
    );
    // ...and hears changes made on A again, within a second.
    const heard = await createKeyOn(a, admin);
    for (let i = 0; i < 2; i++) {
      assert.equal((await b.call('GET', '/api/v1/secrets', { token: heard.apiKey })).status, 200);
    }
    const deleted = await a.call('DELETE', `/api/v1/auth/key/${heard.cid}`, { token: admin, body: {} });
    assert.equal(deleted.status, 200, deleted.text);
    const answered = performance.now();
    await eventually(
      'B refusing the deleted key',
      async () => {
        const reply = await b.call('GET', '/api/v1/secrets', { token: heard.apiKey });
        return reply.status === 401 ? true : undefined;
      },
      { withinMs: 1_000, everyMs: 10 },
    );
    t.diagnostic(
      `B refused the deleted key ${(performance.now() - answered).toFixed(1)} ms after the delete`,
    );
  });

  test('Redis partitioned (nothing refused, nothing answers): the token cache is off within 1 s', async (t) => {
    const admin = cluster.adminToken;
    const revoked = await createKeyOn(a, admin);
    for (const node of cluster.nodes) {
      for (let i = 0; i < 2; i++) {
        assert.equal((await node.call('GET', '/api/v1/secrets', { token: revoked.apiKey })).status, 200);
      }
    }
    const fromB = b.stdout.length;

    redis.blackhole();
    try {
      // A cannot announce the delete; B's subscriber connection stays open and hears nothing.
      const started = performance.now();
      const deleted = await a.call('DELETE', `/api/v1/auth/key/${revoked.cid}`, { token: admin, body: {} });
      const answered = performance.now();
      t.diagnostic(`delete with Redis partitioned answered in ${(answered - started).toFixed(1)} ms`);
      assert.equal(deleted.status, 200, deleted.text);
      await eventually(
        'B refusing the deleted key',
        async () => {
          const reply = await b.call('GET', '/api/v1/secrets', { token: revoked.apiKey });
          if (reply.status === 401) return true;
          assert.equal(reply.status, 200, reply.text);
          return undefined;
        },
        { withinMs: 1_000, everyMs: 10 },
      );
      t.diagnostic(`B refused it ${(performance.now() - answered).toFixed(1)} ms after the delete answered`);
      assert.equal(b.linesMatching(/change-notice channel is not answering/, fromB).length, 1);
    } finally {
      redis.heal();
    }

    // The same connections carry on: B trusts its cache again only after emptying it.
    await eventually('B hearing its channel again', async () => {
      await b.call('GET', '/api/v1/secrets', { token: admin });
      return b.linesMatching(/change-notice channel answers again/, fromB).length > 0 ? true : undefined;
    });
    assertProblem(await b.call('GET', '/api/v1/secrets', { token: revoked.apiKey }), 401, 'UNAUTHORIZED');
  });

  test('PostgreSQL partitioned (nothing refused, nothing answers): every request answered 503, no hang past query_timeout', async (t) => {
    const admin = cluster.adminToken;
    // Fill both pools with idle connections.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (cluster.nodes[i % 2] as ClusterNode).call('GET', '/api/v1/secrets', { token: admin }),
      ),
    );
    const wave = async () => {
      const started = performance.now();
      const replies = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const reply = await (cluster.nodes[i % 2] as ClusterNode).call('GET', '/api/v1/secrets', {
            token: admin,
            timeoutMs: 20_000,
          });
          return { reply, elapsed: performance.now() - started };
        }),
      );
      for (const { reply } of replies) assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
      return replies.map((r) => r.elapsed);
    };

    postgres.blackhole();
    try {
      // Requests on pooled connections wait for pg's query_timeout (12 s in src/db/connect.ts);
      // the rest for the connect timeout (1.5 s).
      const first = await wave();
      t.diagnostic(`first wave: ${first.map((ms) => ms.toFixed(0)).join(', ')} ms`);
      for (const ms of first) assert.ok(ms < 14_000, `a request took ${ms} ms`);
      // Those connections were closed, not put back: from now on, 503 within the connect timeout.
      const second = await wave();
      t.diagnostic(`second wave: ${second.map((ms) => ms.toFixed(0)).join(', ')} ms`);
      for (const ms of second) assert.ok(ms < 2_000, `a request took ${ms} ms`);
    } finally {
      await postgres.stop();
      await postgres.start();
    }
    for (const node of cluster.nodes) {
      await eventually(`node ${node.name} answering 200 again`, async () => {
        const reply = await node.call('GET', '/api/v1/secrets', { token: admin });
        return reply.status === 200 ? true : undefined;
      });
      assert.equal(node.exitCode(), undefined, `node ${node.name} exited`);
    }
  });
});
