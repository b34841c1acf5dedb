/**
 * The audit sealer (PostgreSQL): changes write their events pending, and the sealer chains them.
 * Two stores on one schema stand for two nodes (each its own pool and its own sealer). The
 * failure cases: two sealers at once, a seal that cannot write, a sealer killed mid-batch, and a
 * node that stopped before it sealed what it had committed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { connectPostgres } from '../../src/db/connect-postgres.js';
import type { Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { type AuditInput, type AuditLog, createAuditLog } from '../../src/features/audit/audit.log.js';
import { SEAL_SWEEP_MS, sealPending } from '../../src/features/audit/audit.sealer.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { insertSecretChange } from '../../src/features/secrets/secret-changes.repository.js';
import { createSchema, type Storage } from '../helpers/cluster.js';
import { testDialect } from '../helpers/database.js';

const skip =
  testDialect() === 'sqlite'
    ? 'SQLite chains each event as it is written: no sealer (the PostgreSQL pass)'
    : !process.env.TEST_DATABASE_URL
      ? 'two pools on one schema need a PostgreSQL server (TEST_DATABASE_URL), not the in-process PGlite'
      : false;

const now = () => new Date();
const event = (detail: string, objectType: AuditInput['objectType'] = 'API_KEY'): AuditInput => ({
  actor: { type: 'SYSTEM', id: 'sealer-test' },
  action: 'UPDATE',
  objectType,
  objectId: detail,
  detail,
});

describe('the audit sealer', { skip }, () => {
  let storage: Storage;
  let nodeA: Store;
  let nodeB: Store;
  const logs: AuditLog[] = [];
  const logOf = (store: Store, onSealError?: (error: unknown) => void) => {
    const log = createAuditLog({ store, now, ...(onSealError === undefined ? {} : { onSealError }) });
    logs.push(log);
    return log;
  };

  before(async () => {
    storage = await createSchema();
    nodeA = connectPostgres(storage.url, 8);
    nodeB = connectPostgres(storage.url, 8);
    await migrateToLatest(nodeA.db, 'postgres');
  });
  after(async () => {
    for (const log of logs) await log.close();
    await nodeA?.close();
    await nodeB?.close();
    await storage?.drop();
  });

  const pending = async () =>
    Number(
      (
        await nodeA.db
          .selectFrom('audit_pending')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const chainDetails = async () =>
    (await nodeA.db.selectFrom('audit_events').select(['seq', 'detail']).orderBy('seq').execute()).map(
      (row) => ({
        seq: Number(row.seq),
        detail: row.detail,
      }),
    );
  async function assertIntact() {
    const result = await verifyAuditChain(nodeA);
    assert.ok(result.ok, JSON.stringify(result));
  }

  test('changes on two nodes at once, sealed by both: one gapless chain, each event once, sequential changes in order', async () => {
    const [a, b] = [logOf(nodeA), logOf(nodeB)];
    a.start();
    b.start();
    const before = (await chainDetails()).length;
    // Side by side: 120 changes on each node, each with a secret change keyed as the feed keys it.
    const burst = (log: AuditLog, node: string) =>
      Array.from({ length: 120 }, (_, i) =>
        log.run(async (trx, record) => {
          const key = await record(event(`${node}-${i}`, 'SECRET'));
          await insertSecretChange(trx, {
            seq: key,
            secret_id: `se${node}${String(i).padStart(15, '0')}`.slice(0, 18),
            tag: `${node}-${i}`,
            version: 1,
            action: 'UPDATE',
            value_changed: 0,
            changed_at: now().toISOString(),
          });
        }),
      );
    await Promise.all([...burst(a, 'a'), ...burst(b, 'b')]);
    // One after the other, alternating nodes: the chain keeps their order.
    for (let i = 0; i < 10; i++) await (i % 2 === 0 ? a : b).run((_trx, record) => record(event(`seq-${i}`)));
    await Promise.all([a.sealed(), b.sealed()]);

    const chain = (await chainDetails()).slice(before);
    assert.equal(chain.length, 250);
    assert.deepEqual(
      chain.map((row) => row.seq),
      chain.map((_, i) => before + i + 1),
      'gapless',
    );
    const details = chain.map((row) => row.detail);
    assert.equal(new Set(details).size, 250, 'each event once');
    assert.deepEqual(
      details.filter((detail) => detail?.startsWith('seq-')),
      Array.from({ length: 10 }, (_, i) => `seq-${i}`),
    );
    assert.equal(await pending(), 0);
    // Every secret change now carries its event's seq: none is left keyed as unsealed.
    const changes = await nodeA.db.selectFrom('secret_changes').select(['seq', 'tag']).execute();
    assert.equal(changes.length, 240);
    const seqOf = new Map(chain.map((row) => [row.detail, row.seq]));
    for (const change of changes) assert.equal(Number(change.seq), seqOf.get(change.tag), change.tag);
    await assertIntact();
  });

  test('a seal that cannot write leaves the events pending: the change is answered, and the next seal chains it', async () => {
    const errors: unknown[] = [];
    const a = logOf(nodeA, (error) => errors.push(error));
    await sql`create function seal_fail() returns trigger language plpgsql as $$ begin raise exception 'sealing disabled by the test'; end $$`.execute(
      nodeA.db,
    );
    await sql`create trigger seal_fail before insert on audit_events for each row execute function seal_fail()`.execute(
      nodeA.db,
    );
    try {
      await a.run((_trx, record) => record(event('while-sealing-fails')));
      await assert.rejects(a.sealed(), /sealing disabled by the test/);
      assert.equal(await pending(), 1, 'the event is kept, pending');
    } finally {
      await sql`drop trigger seal_fail on audit_events`.execute(nodeA.db);
      await sql`drop function seal_fail()`.execute(nodeA.db);
    }
    await a.sealed();
    assert.equal(await pending(), 0);
    assert.equal((await chainDetails()).at(-1)?.detail, 'while-sealing-fails');
    await assertIntact();
  });

  test('a sealer killed mid-batch: its pass rolls back whole, and another node seals every event, in order', async () => {
    const errors: unknown[] = [];
    const a = logOf(nodeA, (error) => errors.push(error));
    const b = logOf(nodeB);
    // The first batch stops inside its insert, holding the chain's lock, until its connection is
    // killed (a sequence counts the batches: it is not rolled back with them).
    await sql`create sequence seal_stalls`.execute(nodeA.db);
    await sql`create function seal_stall() returns trigger language plpgsql as $$
      begin if nextval('seal_stalls') = 1 then perform pg_sleep(60); end if; return null; end $$`.execute(
      nodeA.db,
    );
    await sql`create trigger seal_stall before insert on audit_events for each statement execute function seal_stall()`.execute(
      nodeA.db,
    );
    const before = (await chainDetails()).length;
    let stalled: number | undefined;
    for (let i = 0; i < 50; i++) await a.run((_trx, record) => record(event(`killed-${i}`)));
    for (let tries = 0; stalled === undefined && tries < 200; tries++) {
      const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity
        where query like 'insert into "audit_events"%' and wait_event = 'PgSleep'`.execute(nodeB.db);
      stalled = rows[0]?.pid;
      if (stalled === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.notEqual(stalled, undefined, 'no seal stalled in its insert');
    await sql`select pg_terminate_backend(${stalled})`.execute(nodeB.db);
    await sql`drop trigger seal_stall on audit_events`.execute(nodeB.db);
    await sql`drop function seal_stall()`.execute(nodeB.db);
    await sql`drop sequence seal_stalls`.execute(nodeB.db);
    await b.sealed();
    const chain = (await chainDetails()).slice(before);
    assert.deepEqual(
      chain.map((row) => row.detail),
      Array.from({ length: 50 }, (_, i) => `killed-${i}`),
    );
    assert.equal(await pending(), 0);
    await a.sealed();
    assert.ok(errors.length >= 1, 'the killed pass was reported');
    await assertIntact();
  });

  test('a node that stopped between its commits and its seal: another node’s sweep chains its events', async () => {
    // What a node killed just after its commits leaves: its events, pending.
    for (let i = 0; i < 5; i++) {
      await nodeA.db
        .insertInto('audit_pending')
        .values({
          occurred_at: now().toISOString(),
          actor_type: 'SYSTEM',
          actor_id: 'sealer-test',
          action: 'UPDATE',
          object_type: 'API_KEY',
          object_id: null,
          ip: null,
          user_agent: null,
          request_id: null,
          outcome: 'SUCCESS',
          detail: `left-${i}`,
        })
        .execute();
    }
    const b = logOf(nodeB);
    const started = Date.now();
    b.start();
    while ((await pending()) > 0 && Date.now() - started < 10 * SEAL_SWEEP_MS) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await pending(), 0, 'still pending after ten sweep intervals');
    assert.deepEqual(
      (await chainDetails()).slice(-5).map((row) => row.detail),
      Array.from({ length: 5 }, (_, i) => `left-${i}`),
    );
    await sealPending(nodeA);
    await assertIntact();
  });
});
