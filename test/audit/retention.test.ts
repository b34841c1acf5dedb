/**
 * Retention (issue 5): pruneAuditEvents deletes the events older than a cutoff after recording
 * the last deleted event as a checkpoint, so verify still passes (counting only the events
 * kept), new events chain on from it, and tampering right after it is still found.
 *
 * The events are aged with the server's clock (server.advance): two days pass between the old
 * events and the recent ones, and the cutoff lies between them. Pruning cannot be undone, so each
 * test has a server and a history of its own, and prunes what it needs itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneAuditEvents } from '../../src/features/audit/audit.retention.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { auditCount, auditLogs, auditRows } from '../helpers/audit.js';
import { createKey, deleteKey } from '../helpers/keys.js';
import { createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;

/** The events two days older than the others, and the others. */
let old: AuditEventRow[];
let recent: AuditEventRow[];
const suite = useTestServer({ eachTest: true }, async (server) => {
  for (let i = 0; i < 3; i++) await createSecret(server);
  old = await auditRows(server);
  server.advance(2 * DAY);
  const key = await createKey(server);
  await deleteKey(server, key.cid);
  await createSecret(server);
  recent = (await auditRows(server)).slice(old.length);
  assert.equal(old.length, 4, 'bootstrap and three secrets');
  assert.equal(recent.length, 3);
});

/** A cutoff between the old events and the recent ones. */
const betweenThem = () => new Date(Date.parse((recent[0] as AuditEventRow).occurred_at) - DAY);

/** Prunes the old events, as the tests below but the first start with. */
async function pruneTheOld() {
  assert.equal(await pruneAuditEvents(suite.server.store, betweenThem()), old.length);
}

async function checkpoints() {
  return suite.server.store.db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
}

const seqOf = (row: AuditEventRow | undefined) => Number(row?.seq);

test('nothing older than the cutoff: nothing pruned, no checkpoint', async () => {
  const cutoff = new Date(Date.parse((old[0] as AuditEventRow).occurred_at) - DAY);
  assert.equal(await pruneAuditEvents(suite.server.store, cutoff), 0);
  assert.deepEqual(await checkpoints(), []);
  assert.equal(await auditCount(suite.server), old.length + recent.length);
});

test('prunes the old events, leaves a checkpoint at the last one; verify passes over the rest', async () => {
  assert.ok(betweenThem().toISOString() > (old.at(-1) as AuditEventRow).occurred_at, 'test bug: cutoff');
  await pruneTheOld();

  const kept = await auditRows(suite.server);
  assert.deepEqual(kept.map(seqOf), recent.map(seqOf));
  const [checkpoint, ...more] = await checkpoints();
  assert.deepEqual(more, []);
  assert.equal(seqOf(checkpoint as unknown as AuditEventRow), seqOf(old.at(-1)));
  assert.equal(checkpoint?.hash, old.at(-1)?.hash);

  assert.deepEqual(await verifyAuditChain(suite.server.store), {
    ok: true,
    events: recent.length,
    fromSeq: seqOf(old.at(-1)) + 1,
  });
  const listing = await auditLogs(suite.server);
  assert.equal(listing.total, recent.length);
  assert.deepEqual(
    listing.logs.map((l) => l.id),
    recent.map(seqOf).reverse(),
  );
});

test('pruning again with the same cutoff changes nothing', async () => {
  await pruneTheOld();
  assert.equal(await pruneAuditEvents(suite.server.store, betweenThem()), 0);
  assert.equal((await checkpoints()).length, 1);
});

test('new events after pruning chain on; verify passes and counts them', async () => {
  await pruneTheOld();
  await createSecret(suite.server);
  const rows = await auditRows(suite.server);
  const newest = rows.at(-1) as AuditEventRow;
  assert.equal(seqOf(newest), seqOf(recent.at(-1)) + 1);
  assert.equal(newest.prev_hash, recent.at(-1)?.hash);
  const result = await verifyAuditChain(suite.server.store);
  assert.deepEqual(result, { ok: true, events: recent.length + 1, fromSeq: seqOf(old.at(-1)) + 1 });
});

test('the event right after the checkpoint deleted: found and named', async () => {
  await pruneTheOld();
  const first = recent[0] as AuditEventRow;
  await suite.server.store.db.deleteFrom('audit_events').where('seq', '=', first.seq).execute();
  try {
    const result = await verifyAuditChain(suite.server.store);
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.seq, seqOf(first));
    assert.match(result.problem, /missing/);
  } finally {
    await suite.server.store.db.insertInto('audit_events').values(first).execute();
  }
  assert.equal((await verifyAuditChain(suite.server.store)).ok, true);
});

test('the event right after the checkpoint edited, or the checkpoint itself edited: found', async () => {
  await pruneTheOld();
  const first = recent[0] as AuditEventRow;
  await suite.server.store.db
    .updateTable('audit_events')
    .set({ actor_id: 'someone else' })
    .where('seq', '=', first.seq)
    .execute();
  try {
    const result = await verifyAuditChain(suite.server.store);
    assert.ok(
      !result.ok && result.seq === seqOf(first) && /altered/.test(result.problem),
      JSON.stringify(result),
    );
  } finally {
    await suite.server.store.db
      .updateTable('audit_events')
      .set({ actor_id: first.actor_id })
      .where('seq', '=', first.seq)
      .execute();
  }
  const [checkpoint] = await checkpoints();
  await suite.server.store.db
    .updateTable('audit_checkpoints')
    .set({ hash: 'a'.repeat(64) })
    .execute();
  try {
    const result = await verifyAuditChain(suite.server.store);
    assert.ok(!result.ok && result.seq === seqOf(first), JSON.stringify(result));
  } finally {
    await suite.server.store.db
      .updateTable('audit_checkpoints')
      .set({ hash: checkpoint?.hash as string })
      .execute();
  }
  assert.equal((await verifyAuditChain(suite.server.store)).ok, true);
});

test('pruning everything (a cutoff in the future): verify passes with no events; the next one chains to the checkpoint', async () => {
  await pruneTheOld();
  const last = (await auditRows(suite.server)).at(-1) as AuditEventRow;
  const cutoff = new Date(Date.parse(last.occurred_at) + 1);
  assert.equal(await pruneAuditEvents(suite.server.store, cutoff), recent.length);
  assert.equal(await auditCount(suite.server), 0);
  const checkpoint = (await checkpoints()).at(-1);
  assert.equal(Number(checkpoint?.seq), seqOf(last));
  assert.equal(checkpoint?.hash, last.hash);
  assert.deepEqual(await verifyAuditChain(suite.server.store), {
    ok: true,
    events: 0,
    fromSeq: seqOf(last) + 1,
  });
  assert.deepEqual(await auditLogs(suite.server), { logs: [], page: 0, total: 0, totalPages: 0 });

  await createSecret(suite.server);
  const [next, ...others] = await auditRows(suite.server);
  assert.deepEqual(others, []);
  assert.equal(seqOf(next), seqOf(last) + 1, 'numbering goes on without a gap');
  assert.equal(next?.prev_hash, last.hash);
  assert.deepEqual(await verifyAuditChain(suite.server.store), {
    ok: true,
    events: 1,
    fromSeq: seqOf(last) + 1,
  });
});
