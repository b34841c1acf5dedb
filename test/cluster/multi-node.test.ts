/**
 * Several real Tessera processes sharing one PostgreSQL database and one Redis (SPEC §8:
 * DATABASE_URL, REDIS_URL): they start together safely (migrations, master-key record and the
 * bootstrap key exactly once), agree on uniqueness, hear each other's key revocations within a
 * second, share one rate-limit budget per credential, and read each other's secrets.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Cluster,
  type ClusterNode,
  clusterSkipReason,
  createKeyOn,
  REPO_ROOT,
  startCluster,
} from '../helpers/cluster.js';
import type { Reply } from '../helpers/http.js';
import { assertProblem } from '../helpers/problem.js';

const RATE_LIMIT = 30;
const MIGRATIONS = readdirSync(join(REPO_ROOT, 'src/db/migrations'))
  .filter((file) => /^\d{4}-.*\.ts$/.test(file))
  .map((file) => file.replace(/\.ts$/, ''))
  .sort();

describe('several nodes on one PostgreSQL and one Redis', { skip: clusterSkipReason() }, () => {
  let cluster: Cluster;
  /**
   * A second fleet, TESSERA_RATE_LIMIT_PER_MINUTE=30, in another schema of the same database:
   * started once the first fleet's tables exist, so neither may mistake the other's for its own.
   */
  let limited: Cluster;
  let nodes: ClusterNode[];

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    nodes = cluster.nodes;
    limited = await startCluster({ nodes: 2, env: { TESSERA_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) } });
  });
  after(async () => {
    await Promise.all([cluster?.stop(), limited?.stop()]);
  });

  test('nodes started at once migrate once, record one master key and create one bootstrap key, per schema', async () => {
    for (const fleet of [cluster, limited]) {
      const [where] = await fleet.query<{ schema: string }>('select current_schema() as schema');
      assert.equal(where?.schema, fleet.storage.name);
      const applied = await fleet.query<{ name: string; n: string }>(
        'select name, count(*) as n from tessera_migrations group by name order by name',
      );
      assert.deepEqual(
        applied.map((row) => row.name),
        MIGRATIONS,
      );
      for (const row of applied) assert.equal(Number(row.n), 1, `${row.name} applied ${row.n} times`);
      const masterKeys = await fleet.query('select key_id from master_keys');
      assert.equal(masterKeys.length, 1, 'exactly one master-key record');
      const keys = await fleet.query<{ name: string; roles: string; is_admin: number }>(
        'select name, roles, is_admin from api_keys',
      );
      assert.equal(keys.length, 1, `exactly one key after start: ${JSON.stringify(keys)}`);
      assert.equal(keys[0]?.name, 'bootstrap');
      assert.deepEqual(JSON.parse(keys[0]?.roles ?? '[]'), [{ type: 'DEFAULT', role: 'ADMIN' }]);
      const creators = fleet.nodes.filter(
        (node) => node.linesMatching(/created the bootstrap ADMIN key/).length > 0,
      );
      assert.equal(creators.length, 1, 'exactly one node created the bootstrap key');
      for (const node of fleet.nodes) {
        assert.deepEqual(node.stderr, [], `node ${node.name} wrote to stderr`);
        assert.equal(node.exitCode(), undefined, `node ${node.name} exited`);
        const reply = await node.call('GET', '/api/v1/auth/key', { token: fleet.adminToken });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.total, 1);
      }
    }
  });

  test('40 concurrent creates of one tag over every node: exactly one 200 and 39 CONFLICT', async () => {
    const tag = `mn-race-${randomBytes(4).toString('hex')}`;
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (nodes[i % nodes.length] as ClusterNode).call('POST', '/api/v1/secrets', {
          token: cluster.adminToken,
          body: { name: `race ${i}`, tag, secret: `value of attempt ${i}` },
          timeoutMs: 10_000,
        }),
      ),
    );
    const won = replies.flatMap((reply, i) => (reply.status === 200 ? [i] : []));
    assert.equal(won.length, 1, `statuses: ${replies.map((r) => r.status).join(',')}`);
    for (const reply of replies) if (reply.status !== 200) assertProblem(reply, 409, 'CONFLICT');
    const winner = won[0] as number;

    const rows = await cluster.query<{ id: string; name: string }>(
      'select id, name from secrets where tag = $1',
      [tag],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.id, replies[winner]?.body.id);
    assert.equal(rows[0]?.name, `race ${winner}`);
    const versions = await cluster.query('select version from secret_versions where secret_id = $1', [
      rows[0]?.id,
    ]);
    assert.equal(versions.length, 1, 'the losers left no value versions behind');
    // Every node reads the winner's value.
    for (const node of nodes) {
      const reply = await node.call('GET', `/api/v1/secrets/${tag}/value`, { token: cluster.adminToken });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.value, `value of attempt ${winner}`);
    }
  });

  test('a deleted key is refused by every node within one second of the delete answering', async (t) => {
    const key = await createKeyOn(nodes[0] as ClusterNode, cluster.adminToken);
    // Each node authenticates it twice: from storage, then (cached) from memory.
    for (const node of nodes) {
      for (let i = 0; i < 2; i++) {
        const reply = await node.call('GET', '/api/v1/secrets', { token: key.apiKey });
        assert.equal(reply.status, 200, `node ${node.name}: ${reply.text}`);
      }
    }
    const deleteStarted = performance.now();
    const deleted = await (nodes[0] as ClusterNode).call('DELETE', `/api/v1/auth/key/${key.cid}`, {
      token: cluster.adminToken,
      body: {},
    });
    const answered = performance.now();
    assert.equal(deleted.status, 200, deleted.text);
    t.diagnostic(`delete answered in ${(answered - deleteStarted).toFixed(1)} ms`);

    const latencies = await Promise.all(
      nodes.map(async (node) => {
        for (;;) {
          const reply = await node.call('GET', '/api/v1/secrets', { token: key.apiKey });
          const elapsed = performance.now() - answered;
          if (reply.status === 401) {
            assertProblem(reply, 401, 'UNAUTHORIZED');
            return elapsed;
          }
          assert.equal(reply.status, 200, `node ${node.name}: ${reply.text}`);
          if (elapsed > 3_000) return elapsed;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }),
    );
    t.diagnostic(
      `refused after: ${nodes.map((node, i) => `${node.name} ${latencies[i]?.toFixed(1)} ms`).join(', ')}`,
    );
    for (const [i, node] of nodes.entries()) {
      assert.ok(
        (latencies[i] as number) < 1_000,
        `node ${node.name} still accepted it after ${latencies[i]} ms`,
      );
    }
  });

  test('one rate-limit budget per credential across the fleet', async () => {
    const fleet = limited.nodes;
    const key = await createKeyOn(fleet[0] as ClusterNode, limited.adminToken);
    const total = RATE_LIMIT + 15;
    const replies = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        (fleet[i % fleet.length] as ClusterNode).call('GET', '/api/v1/secrets', { token: key.apiKey }),
      ),
    );
    const allowed = replies.filter((reply) => reply.status === 200);
    const limitedReplies = replies.filter((reply) => reply.status === 429);
    assert.equal(allowed.length, RATE_LIMIT, `statuses: ${replies.map((r) => r.status).join(',')}`);
    assert.equal(limitedReplies.length, total - RATE_LIMIT);
    // One counter: the fleet's answers count down 29..0 once, not once per node.
    const remaining = allowed
      .map((reply) => Number(reply.headers.get('x-ratelimit-remaining')))
      .sort((a, b) => a - b);
    assert.deepEqual(
      remaining,
      Array.from({ length: RATE_LIMIT }, (_, i) => i),
    );
    for (const reply of limitedReplies) {
      const body = assertProblem(reply, 429, 'TOO_MANY_REQUESTS');
      assert.equal(reply.headers.get('x-ratelimit-limit'), String(RATE_LIMIT));
      assert.ok(Number(reply.headers.get('retry-after')) >= 1);
      assert.equal(body.retryAfter, Number(reply.headers.get('retry-after')));
    }
    // And afterwards, on every node.
    for (const node of fleet) {
      const reply = await node.call('GET', '/api/v1/secrets', { token: key.apiKey });
      assertProblem(reply, 429, 'TOO_MANY_REQUESTS');
    }
    // Another credential has its own budget.
    const other = await (fleet[1] as ClusterNode).call('GET', '/api/v1/secrets', {
      token: limited.adminToken,
    });
    assert.equal(other.status, 200, other.text);
  });

  test('a secret written on one node reveals on the others', async () => {
    const tag = `mn-shared-${randomBytes(4).toString('hex')}`;
    const value = `shared value ${randomBytes(16).toString('base64')}`;
    const created = await (nodes[0] as ClusterNode).call('POST', '/api/v1/secrets', {
      token: cluster.adminToken,
      body: { name: 'written on A', tag, secret: value },
    });
    assert.equal(created.status, 200, created.text);
    for (const node of nodes.slice(1)) {
      const reply = await node.call('GET', `/api/v1/secrets/${tag}/value`, { token: cluster.adminToken });
      assert.equal(reply.status, 200, `node ${node.name}: ${reply.text}`);
      assert.equal(reply.body.value, value);
      assert.equal(reply.body.id, created.body.id);
      const listed = await node.call('GET', `/api/v1/secrets/${created.body.id}`, {
        token: cluster.adminToken,
      });
      assert.deepEqual(listed.body, { id: created.body.id, name: 'written on A', tag });
    }
  });

  test('a secret changed on one node is seen changed by every other within a second, though they cached it', async (t) => {
    const tag = `mn-cached-${randomBytes(4).toString('hex')}`;
    const token = cluster.adminToken;
    const first = nodes[0] as ClusterNode;
    const created = await first.call('POST', '/api/v1/secrets', {
      token,
      body: { name: 'v1', tag, secret: 'one' },
    });
    assert.equal(created.status, 200, created.text);
    // Every node reads it twice: from storage, then from its cache.
    for (const node of nodes) {
      for (let i = 0; i < 2; i++) {
        assert.equal((await node.call('GET', `/api/v1/secrets/${tag}/value`, { token })).body.value, 'one');
      }
    }
    /** How long after `since` every other node answers as `done` says. */
    const seenWithin = async (since: number, path: string, done: (reply: Reply) => boolean) =>
      Promise.all(
        nodes.slice(1).map(async (node) => {
          for (;;) {
            const reply = await node.call('GET', path, { token });
            const elapsed = performance.now() - since;
            if (done(reply) || elapsed > 3_000) return elapsed;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }),
      );
    const assertWithinASecond = (what: string, latencies: number[]) => {
      t.diagnostic(`${what}: ${latencies.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}`);
      for (const ms of latencies) assert.ok(ms < 1_000, `${what}: still stale after ${ms} ms`);
    };

    const updated = await first.call('PUT', `/api/v1/secrets/${tag}`, {
      token,
      body: { name: 'v2', secret: 'two' },
    });
    assert.equal(updated.status, 200, updated.text);
    let since = performance.now();
    assertWithinASecond(
      'new value',
      await seenWithin(since, `/api/v1/secrets/${tag}/value`, (reply) => reply.body?.value === 'two'),
    );
    assertWithinASecond(
      'new name',
      await seenWithin(since, `/api/v1/secrets/${tag}`, (r) => r.body?.name === 'v2'),
    );

    const deleted = await first.call('DELETE', `/api/v1/secrets/${tag}`, { token, body: {} });
    assert.equal(deleted.status, 200, deleted.text);
    since = performance.now();
    assertWithinASecond(
      'deleted',
      await seenWithin(since, `/api/v1/secrets/${tag}`, (r) => r.status === 404),
    );
  });

  test('no node reported Redis unreachable in normal operation', () => {
    for (const node of [...nodes, ...limited.nodes]) {
      assert.deepEqual(node.linesMatching(/Redis is unreachable|channel is down/), [], `node ${node.name}`);
    }
  });
});
