import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChangeNoticeBus } from '../../src/cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../src/cluster/invalidated-cache.js';
import type { ApiKeyRow } from '../../src/features/api-keys/api-keys.table.js';
import { TokenCache } from '../../src/features/api-keys/token-cache.js';

/** A bus whose health and deliveries the test controls. */
function controlledBus() {
  const listeners: ((owner: string) => void)[] = [];
  const reconnects: (() => void)[] = [];
  const state = { healthy: true, published: [] as string[] };
  const bus: ChangeNoticeBus = {
    async publish(owner) {
      state.published.push(owner);
      for (const l of listeners) l(owner);
    },
    subscribe: (l) => void listeners.push(l),
    onReconnect: (l) => void reconnects.push(l),
    healthy: () => state.healthy,
    async close() {},
  };
  return {
    bus,
    state,
    deliver: (owner: string) => {
      for (const l of listeners) l(owner);
    },
    reconnect: () => {
      for (const l of reconnects) l();
    },
  };
}

function row(cid: string, customRoleTags: string[] = []): ApiKeyRow & { customRoleTags: string[] } {
  return {
    cid,
    customRoleTags,
    name: cid,
    description: null,
    token_hash: `hash-${cid}`,
    last4: 'abcd',
    roles: '[]',
    is_admin: 0,
    created_at: new Date(0).toISOString(),
    expires_at: null,
    allowed_ips: null,
    rate_limit_per_minute: null,
    last_used_at: null,
    previous_token_hash: null,
    previous_token_expires_at: null,
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

test('when full, the least recently used entry goes first (to within a second of use)', () => {
  const { bus } = controlledBus();
  let clock = 0;
  const cache = new InvalidatedCache<{ id: string }>(bus, {
    ownerOf: (v) => v.id,
    maxEntries: 3,
    clock: () => clock,
  });
  const has = (id: string) => cache.get(id) !== undefined;
  for (const id of ['a', 'b', 'c']) cache.set(id, { id }, cache.ticket());
  clock = 1_000;
  assert.ok(has('a')); // a becomes the most recent: b is now the oldest
  cache.set('d', { id: 'd' }, cache.ticket());
  assert.equal(has('b'), false);
  clock = 1_500;
  assert.ok(has('c')); // last moved at 0: moves to the recent end
  assert.ok(has('a')); // moved at 1,000, within the second: keeps its place, now the oldest
  cache.set('e', { id: 'e' }, cache.ticket());
  assert.equal(has('a'), false);
  assert.deepEqual(['c', 'd', 'e'].map(has), [true, true, true]);
});

test('an entry is dropped by a notice about its owner, whatever its key', async () => {
  const { bus, deliver } = controlledBus();
  const cache = new InvalidatedCache<{ id: string; name: string }>(bus, { ownerOf: (v) => v.id });
  const row = { id: 'se1', name: 'one' };
  cache.set('by-tag', row, cache.ticket());
  cache.set('se1', row, cache.ticket());
  cache.set('other', { id: 'se2', name: 'two' }, cache.ticket());
  deliver('se1');
  assert.equal(cache.get('by-tag'), undefined);
  assert.equal(cache.get('se1'), undefined);
  assert.deepEqual(cache.get('other'), { id: 'se2', name: 'two' });
});

test('the owner index follows every way an entry leaves: eviction, expiry, replacement, delete', () => {
  const { bus, deliver } = controlledBus();
  let clock = 0;
  const cache = new InvalidatedCache<{ id: string; n: number }>(bus, {
    ownerOf: (v) => v.id,
    maxEntries: 100,
    ttlMs: 1_000,
    clock: () => clock,
  });
  // Far more owners than fit: the evicted ones must not be remembered.
  for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, { id: `o${i}`, n: i }, cache.ticket());
  assert.equal(cache.owners, 100);
  // A key given to another owner is that owner's alone now.
  cache.set('k9999', { id: 'moved', n: 0 }, cache.ticket());
  deliver('o9999');
  assert.deepEqual(cache.get('k9999'), { id: 'moved', n: 0 });
  deliver('moved');
  assert.equal(cache.get('k9999'), undefined);
  // Expired and deleted entries leave the index too.
  cache.delete('k9998');
  clock = 2_000;
  for (let i = 9_900; i < 9_998; i++) assert.equal(cache.get(`k${i}`), undefined);
  assert.equal(cache.owners, 0);
});

test("a key's entry is also dropped by a notice about one of its custom roles, and leaves no trace", async () => {
  const { bus, deliver } = controlledBus();
  const cache = new TokenCache(bus);
  cache.set('h1', row('ak1', ['deploy-ci']), cache.ticket());
  cache.set('h2', row('ak2', ['deploy-ci', 'auditor']), cache.ticket());
  cache.set('h3', row('ak3', ['auditor']), cache.ticket());
  cache.set('h4', row('ak4'), cache.ticket());
  deliver('role:deploy-ci'); // a node edited the role
  assert.equal(cache.get('h1'), undefined);
  assert.equal(cache.get('h2'), undefined);
  assert.equal(cache.get('h3')?.cid, 'ak3');
  assert.equal(cache.get('h4')?.cid, 'ak4');
  // ak2's entry left the auditor role's set too: only ak3 and ak4 (and ak3's role) have entries.
  assert.equal(cache.owners, 3);
  deliver('ak3');
  assert.equal(cache.owners, 1);
  deliver('role:deploy-ci'); // a role no entry holds any more: nothing to drop, nothing breaks
  assert.equal(cache.get('h4')?.cid, 'ak4');
});
