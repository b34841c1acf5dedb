/**
 * The in-process caches of secrets (createSecretCaches, src/features/secrets/secret-lookup.ts):
 * secret rows, and the sealed versions reveals read. A change is seen at once by the node that
 * made it and by every node on the same bus, a node whose bus is down reads storage, and the
 * caches are really used (a change nobody announced is not seen until the entry expires). Two apps
 * on one store and one bus stand for two nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import type { ChangeNoticeBus } from '../../src/cluster/change-notice-bus.js';
import { testDialect } from '../helpers/database.js';
import { client } from '../helpers/http.js';
import { api, type Call } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { uniqueTag } from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** One process's bus, whose health, and whether it delivers what is published, the test controls. */
function controlledBus() {
  const listeners: ((id: string) => void)[] = [];
  const reconnects: (() => void)[] = [];
  const state = { healthy: true, delivers: true };
  const bus: ChangeNoticeBus = {
    async publish(id) {
      if (!state.delivers) throw new Error('notice lost');
      for (const listener of listeners) listener(id);
    },
    subscribe: (listener) => void listeners.push(listener),
    onReconnect: (listener) => void reconnects.push(listener),
    healthy: () => state.healthy,
    async close() {},
  };
  const reconnect = () => {
    for (const listener of reconnects) listener();
  };
  return { bus, state, reconnect };
}

describe(`the secret cache (${testDialect()})`, () => {
  const { bus, state, reconnect } = controlledBus();
  let server: TestServer;
  let closeOther: () => Promise<void>;
  /** Calls to the first node and to a second one on the same store and bus. */
  let first: Call;
  let second: Call;

  before(async () => {
    // Two versions kept on the first node: a second new value prunes the first.
    server = await startTestServer({
      app: { changeNotices: { mode: 'shared', bus } },
      secretVersionsKept: 2,
    });
    const other = await buildApp({
      store: server.store,
      keyring: server.keyring,
      rateLimitPerMinute: 100_000,
      changeNotices: { mode: 'shared', bus },
    });
    const url = await other.server.listen({ host: '127.0.0.1', port: 0 });
    closeOther = () => other.server.close();
    first = api(server);
    const viaOther = client(url);
    second = (method, path, options = {}) => viaOther(method, path, { token: server.adminToken, ...options });
  });
  after(async () => {
    await closeOther?.();
    await server?.close();
  });

  async function created(name = 'cached', secret = 'one') {
    const tag = uniqueTag('cache');
    const reply = await first('POST', '/api/v1/secrets', {
      token: server.adminToken,
      body: { name, tag, secret },
    });
    assert.equal(reply.status, 200, reply.text);
    return { tag, id: reply.body.id as string };
  }
  const read = async (call: Call, path: string) =>
    (await call('GET', path, { token: server.adminToken })).body;
  /** A change made in storage directly: nobody announces it. */
  const renameInStorage = (id: string, name: string) =>
    sql`update secrets set name = ${name} where id = ${id}`.execute(server.store.db);
  /** A version removed from storage directly: nobody announces it. */
  const removeVersionInStorage = (id: string, version: number) =>
    sql`delete from secret_versions where secret_id = ${id} and version = ${version}`.execute(
      server.store.db,
    );

  test('the node that changes a secret sees the change at once, by tag and by id', async () => {
    const { tag, id } = await created();
    for (const path of [`/api/v1/secrets/${tag}`, `/api/v1/secrets/${id}`]) {
      assert.equal((await read(first, path)).name, 'cached');
    }
    assert.equal((await read(first, `/api/v1/secrets/${tag}/value`)).value, 'one');
    const token = server.adminToken;
    assert.equal(
      (await first('PUT', `/api/v1/secrets/${tag}`, { token, body: { name: 'renamed' } })).status,
      200,
    );
    assert.equal((await read(first, `/api/v1/secrets/${id}`)).name, 'renamed');
    assert.equal(
      (await first('PUT', `/api/v1/secrets/${id}`, { token, body: { secret: 'two' } })).status,
      200,
    );
    const revealed = await read(first, `/api/v1/secrets/${tag}/value`);
    assert.deepEqual([revealed.version, revealed.value], [2, 'two']);
    assert.equal((await first('DELETE', `/api/v1/secrets/${tag}`, { token, body: {} })).status, 200);
    assertProblem(await first('GET', `/api/v1/secrets/${tag}`, { token }), 404, 'NOT_FOUND');
    // The tag again, for another secret: its new id is served, not the cached old one.
    const again = await first('POST', '/api/v1/secrets', {
      token,
      body: { name: 'again', tag, secret: 'x' },
    });
    assert.equal(again.status, 200, again.text);
    assert.equal((await read(first, `/api/v1/secrets/${tag}`)).id, again.body.id);
  });

  test('another node on the same bus sees each change at once, though it had cached the secret', async () => {
    const { tag, id } = await created();
    const token = server.adminToken;
    assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'cached');
    assert.equal((await read(second, `/api/v1/secrets/${tag}/value`)).value, 'one');
    assert.equal(
      (await first('PUT', `/api/v1/secrets/${id}`, { token, body: { name: 'n2', secret: 'two' } })).status,
      200,
    );
    assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'n2');
    assert.equal((await read(second, `/api/v1/secrets/${tag}/value`)).value, 'two');
    assert.equal((await first('DELETE', `/api/v1/secrets/${id}`, { token, body: {} })).status, 200);
    assertProblem(await second('GET', `/api/v1/secrets/${tag}`), 404, 'NOT_FOUND');
  });

  test('a cached secret is served from memory: a change nobody announced is not seen', async () => {
    const { tag, id } = await created();
    assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'cached');
    await renameInStorage(id, 'unannounced');
    assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'cached');
    // Not cached under its id yet: read from storage.
    assert.equal((await read(second, `/api/v1/secrets/${id}`)).name, 'unannounced');
  });

  test('while the bus is down the cache is bypassed, and emptied when it returns', async () => {
    const { tag, id } = await created();
    assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'cached');
    state.healthy = false;
    try {
      await renameInStorage(id, 'while down');
      assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'while down');
    } finally {
      state.healthy = true;
      reconnect();
    }
    // What was cached before the outage went with the reconnect.
    assert.equal((await read(second, `/api/v1/secrets/${tag}`)).name, 'while down');
  });

  test('a revealed version is kept sealed in memory: removed unannounced, it still reveals; with the bus down, storage is read', async () => {
    const { tag, id } = await created();
    const value = `/api/v1/secrets/${tag}/value`;
    assert.equal((await read(second, value)).value, 'one');
    await removeVersionInStorage(id, 1);
    assert.equal((await read(second, value)).value, 'one');
    state.healthy = false;
    try {
      assertProblem(await second('GET', value), 404, 'NOT_FOUND');
    } finally {
      state.healthy = true;
      reconnect();
    }
    assertProblem(await second('GET', value), 404, 'NOT_FOUND');
  });

  test('a value of 4 KiB is kept; one byte more is not, and every reveal of it reads storage', async () => {
    // 2,048 two-byte characters: 4,096 bytes of UTF-8, as the limit counts them.
    const atLimit = 'é'.repeat(2_048);
    const kept = await created('at the limit', atLimit);
    const keptPath = `/api/v1/secrets/${kept.tag}/value`;
    assert.equal((await read(second, keptPath)).value, atLimit);
    await removeVersionInStorage(kept.id, 1);
    assert.equal((await read(second, keptPath)).value, atLimit);

    const large = `${atLimit}x`;
    const { tag, id } = await created('large', large);
    const value = `/api/v1/secrets/${tag}/value`;
    assert.equal((await read(second, value)).value, large);
    await removeVersionInStorage(id, 1);
    assertProblem(await second('GET', value), 404, 'NOT_FOUND');
  });

  test('the node that prunes a version stops revealing it at once, though the notice was lost', async () => {
    const { tag } = await created();
    const token = server.adminToken;
    const first1 = `/api/v1/secrets/${tag}/value?version=1`;
    assert.equal((await read(first, first1)).value, 'one');
    state.delivers = false;
    try {
      for (const secret of ['two', 'three']) {
        assert.equal((await first('PUT', `/api/v1/secrets/${tag}`, { token, body: { secret } })).status, 200);
      }
    } finally {
      state.delivers = true;
    }
    assertProblem(await first('GET', first1, { token }), 404, 'NOT_FOUND');
    assert.equal((await read(first, `/api/v1/secrets/${tag}/value?version=2`)).value, 'two');
  });
});
