import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InvalidationBus } from '../../src/cluster/invalidation-bus.js';
import type { ApiKeyRow } from '../../src/features/api-keys/api-keys.table.js';
import { TokenCache } from '../../src/features/api-keys/token-cache.js';

/** A bus whose health and deliveries the test controls. */
function controlledBus() {
  const listeners: ((cid: string) => void)[] = [];
  const reconnects: (() => void)[] = [];
  const state = { healthy: true, published: [] as string[] };
  const bus: InvalidationBus = {
    async publish(cid) {
      state.published.push(cid);
      for (const l of listeners) l(cid);
    },
    subscribe: (l) => void listeners.push(l),
    onReconnect: (l) => void reconnects.push(l),
    healthy: () => state.healthy,
    async close() {},
  };
  return {
    bus,
    state,
    deliver: (cid: string) => {
      for (const l of listeners) l(cid);
    },
    reconnect: () => {
      for (const l of reconnects) l();
    },
  };
}

function row(cid: string): ApiKeyRow {
  return {
    cid,
    name: cid,
    description: null,
    token_hash: `hash-${cid}`,
    last4: 'abcd',
    roles: '[]',
    is_admin: 0,
    created_at: new Date(0).toISOString(),
    expires_at: null,
    list_item: null,
  };
}

test('a cached row is served until its key changes anywhere', async () => {
  const { bus, deliver } = controlledBus();
  const cache = new TokenCache(bus);
  cache.set('h1', row('ak1'), cache.ticket());
  assert.equal(cache.get('h1')?.cid, 'ak1');
  deliver('ak1'); // another node changed the key
  assert.equal(cache.get('h1'), undefined);
});

test('invalidate drops the entry here and announces the change', async () => {
  const { bus, state } = controlledBus();
  const cache = new TokenCache(bus);
  cache.set('h1', row('ak1'), cache.ticket());
  assert.equal(await cache.invalidate('ak1'), true);
  assert.equal(cache.get('h1'), undefined);
  assert.deepEqual(state.published, ['ak1']);
});

test('a look-up that raced an invalidation is not cached', async () => {
  const { bus, deliver } = controlledBus();
  const cache = new TokenCache(bus);
  const ticket = cache.ticket(); // storage read starts...
  deliver('ak1'); // ...the key is deleted meanwhile...
  cache.set('h1', row('ak1'), ticket); // ...and the stale row arrives
  assert.equal(cache.get('h1'), undefined);
});

test('while the channel is unhealthy nothing is served from or stored in the cache', async () => {
  const { bus, state } = controlledBus();
  const cache = new TokenCache(bus);
  cache.set('h1', row('ak1'), cache.ticket());
  state.healthy = false;
  assert.equal(cache.get('h1'), undefined);
  cache.set('h2', row('ak2'), cache.ticket());
  state.healthy = true;
  assert.equal(cache.get('h2'), undefined);
});

test('a reconnect empties the cache: notices may have been missed', async () => {
  const { bus, reconnect } = controlledBus();
  const cache = new TokenCache(bus);
  cache.set('h1', row('ak1'), cache.ticket());
  reconnect();
  assert.equal(cache.get('h1'), undefined);
});

test('entries expire after a minute whatever happens to notices', async () => {
  const { bus } = controlledBus();
  let now = 0;
  const cache = new TokenCache(bus, () => now);
  cache.set('h1', row('ak1'), cache.ticket());
  now = 59_000;
  assert.equal(cache.get('h1')?.cid, 'ak1');
  now = 120_001;
  assert.equal(cache.get('h1'), undefined);
});
