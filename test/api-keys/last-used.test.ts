/**
 * `lastUsedDate`: null until a key's first use, then the time of its latest use, written in
 * batches (src/features/api-keys/last-used.ts): no storage write per request, one update per used
 * key per flush, never moved back by a writer that saw an older use, kept by a graceful close,
 * and a failed flush retried by the next one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../src/db/database.js';
import * as repo from '../../src/features/api-keys/api-keys.repository.js';
import { createLastUsed } from '../../src/features/api-keys/last-used.js';
import { eventually } from '../helpers/eventually.js';
import { keptDataFor } from '../helpers/kept-data.js';
import { api, createKey } from '../helpers/keys.js';
import { useTestServer } from '../helpers/server.js';

/** An hour: within a test, only the test's own flushes write (and the close). */
const suite = useTestServer({ app: { lastUsedFlushMs: 3_600_000 } });
const admin = () => suite.server.adminToken;

async function storedLastUse(store: Store, cid: string): Promise<string | null | undefined> {
  const row = await store.db
    .selectFrom('api_keys')
    .select('last_used_at')
    .where('cid', '=', cid)
    .executeTakeFirst();
  return row?.last_used_at;
}

/**
 * Counts the storage writes of `last_used_at`, one per row updated, through a trigger of the
 * test's own: `writes()` says how many since it was installed.
 */
async function countLastUseWrites(store: Store) {
  const table = `test_last_use_writes_${randomBytes(4).toString('hex')}`;
  await sql`create table ${sql.table(table)} (cid varchar(32))`.execute(store.db);
  if (store.dialect === 'sqlite') {
    await sql`
      create trigger ${sql.ref(`${table}_trigger`)} after update of last_used_at on api_keys
      begin insert into ${sql.table(table)} values (new.cid); end`.execute(store.db);
  } else {
    await sql
      .raw(`
      create function ${table}_count() returns trigger language plpgsql as $$
      begin insert into ${table} values (new.cid); return new; end $$`)
      .execute(store.db);
    await sql`
      create trigger ${sql.ref(`${table}_trigger`)} after update of last_used_at on api_keys
      for each row execute function ${sql.raw(`${table}_count`)}()`.execute(store.db);
  }
  return {
    async writes(): Promise<string[]> {
      const { rows } = await sql<{ cid: string }>`select cid from ${sql.table(table)}`.execute(store.db);
      return rows.map((row) => row.cid);
    },
    async remove() {
      await sql`drop trigger ${sql.ref(`${table}_trigger`)}${
        store.dialect === 'postgres' ? sql` on api_keys` : sql``
      }`.execute(store.db);
      await sql`drop table ${sql.table(table)}`.execute(store.db);
      if (store.dialect === 'postgres') await sql.raw(`drop function ${table}_count()`).execute(store.db);
    },
  };
}

describe('lastUsedDate', () => {
  test('null until first use; after a flush, the time of the latest use on get and list', async () => {
    const key = await createKey(suite.server, { allowedIps: ['127.0.0.1', '::1'], rateLimitPerMinute: 500 });
    assert.equal(key.lastUsedDate, null);
    const before = Date.now();
    for (let i = 0; i < 3; i++)
      assert.equal((await suite.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    const after = Date.now();
    // Nothing written yet: the uses are in memory.
    assert.equal(await storedLastUse(suite.server.store, key.cid), null);
    await suite.server.flushLastUsed();
    const read = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: admin() });
    assert.equal(read.status, 200, read.text);
    const used = Date.parse(read.body.lastUsedDate);
    assert.ok(used >= before - 5 && used <= after + 5, `${read.body.lastUsedDate} not within the calls`);
    // The flush wrote last_used_at alone; the list renders the item anew, to the text a get writes.
    const list = await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: admin() });
    assert.ok(list.text.includes(read.text), `the listed item differs from ${read.text}`);
  });

  test('GET /api/v1/me shows its own use at once', async () => {
    const key = await createKey(suite.server);
    const before = Date.now();
    const me = await suite.call('GET', '/api/v1/me', { token: key.apiKey });
    assert.equal(me.status, 200, me.text);
    assert.ok(Date.parse(me.body.lastUsedDate) >= before - 5, me.body.lastUsedDate);
  });

  test('no write per request: 40 requests with two keys are two updates at the flush, then none', async () => {
    const counter = await countLastUseWrites(suite.server.store);
    try {
      await suite.server.flushLastUsed();
      const keys = [await createKey(suite.server), await createKey(suite.server)];
      for (let i = 0; i < 40; i++) {
        const reply = await suite.call('GET', '/api/v1/me', {
          token: (keys[i % 2] as { apiKey: string }).apiKey,
        });
        assert.equal(reply.status, 200);
      }
      const ours = async () => (await counter.writes()).filter((cid) => keys.some((key) => key.cid === cid));
      assert.deepEqual(await ours(), [], 'written before the flush');
      await suite.server.flushLastUsed();
      assert.deepEqual((await ours()).sort(), keys.map((key) => key.cid).sort());
      await suite.server.flushLastUsed();
      assert.equal((await ours()).length, 2, 'a flush with no new use writes nothing');
    } finally {
      await counter.remove();
    }
  });

  test('two writers never move it back: the later use stays, whichever flushes last', async () => {
    const { store } = suite.server;
    const key = await createKey(suite.server);
    const onError = (error: unknown) => assert.fail(String(error));
    const nodeA = createLastUsed({ store, onError });
    const nodeB = createLastUsed({ store, onError });
    const earlier = Date.parse('2030-01-01T00:00:00.000Z');
    const later = earlier + 30_000;
    nodeA.record(key.cid, later);
    nodeB.record(key.cid, earlier);
    await nodeA.flush();
    await nodeB.flush();
    assert.equal(await storedLastUse(store, key.cid), new Date(later).toISOString());
    nodeB.record(key.cid, later + 1);
    await nodeB.flush();
    assert.equal(await storedLastUse(store, key.cid), new Date(later + 1).toISOString());
    // Many keys in one flush (more than one statement's worth) each get their own time.
    const cids = Array.from({ length: 260 }, (_, i) => `ak${String(i).padStart(16, '0')}`);
    await repo.recordLastUses(
      store.db,
      cids.map((cid) => [cid, new Date(later).toISOString()]),
    );
    await repo.recordLastUses(store.db, [[key.cid, new Date(earlier).toISOString()]]);
    assert.equal(await storedLastUse(store, key.cid), new Date(later + 1).toISOString());
  });

  test('a failed flush is reported, keeps its uses, and the next one writes them', async () => {
    const { store } = suite.server;
    const key = await createKey(suite.server);
    const errors: unknown[] = [];
    const recorder = createLastUsed({ store, onError: (error) => void errors.push(error) });
    recorder.record(key.cid, Date.parse('2030-06-01T00:00:00.000Z'));
    // Storage that refuses the write: the table is away for the one flush.
    await sql`alter table api_keys rename to api_keys_away`.execute(store.db);
    try {
      await recorder.flush();
    } finally {
      await sql`alter table api_keys_away rename to api_keys`.execute(store.db);
    }
    assert.equal(errors.length, 1, 'the failure was reported');
    assert.equal(recorder.latest(key.cid), '2030-06-01T00:00:00.000Z', 'the use is kept');
    await recorder.flush();
    assert.equal(errors.length, 1);
    assert.equal(await storedLastUse(store, key.cid), '2030-06-01T00:00:00.000Z');
    assert.equal(recorder.latest(key.cid), undefined);
  });
});

describe('the flush timer and a graceful close', () => {
  const timed = useTestServer({ app: { lastUsedFlushMs: 50 } });

  test('uses are written on the timer', async () => {
    const key = await createKey(timed.server);
    assert.equal((await timed.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    await eventually(
      'the use written by the timer',
      async () => (await storedLastUse(timed.server.store, key.cid)) ?? false,
    );
  });

  test('a graceful close writes what it has not yet', async (t) => {
    const data = keptDataFor(t);
    const masterKey = randomBytes(32);
    const first = await data.start(masterKey);
    const key = await createKey(first);
    const before = Date.now();
    assert.equal((await api(first)('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    const second = await data.start(masterKey); // stops the first
    const read = await api(second)('GET', `/api/v1/auth/key/${key.cid}`, { token: second.adminToken });
    assert.equal(read.status, 200, read.text);
    assert.ok(read.body.lastUsedDate !== null && Date.parse(read.body.lastUsedDate) >= before - 5, read.text);
  });
});
