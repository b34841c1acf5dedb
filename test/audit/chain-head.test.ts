/**
 * The audit chain's head across group-commit batches (src/features/audit/audit.log.ts). On the
 * embedded database a batch starts from the head the previous batch committed, without reading
 * it, only while the change stamp says nothing else has written since. Here something else does:
 * another process on the same file, and a write on the same connection outside the log. Each
 * time the next event must still take the next seq and chain to the true head.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectSqlite } from '../../src/db/connect.js';
import type { Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { hashEvent } from '../../src/features/audit/audit.chain.js';
import { type AuditLog, createAuditLog } from '../../src/features/audit/audit.log.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { testDialect } from '../helpers/database.js';

const skip = testDialect() === 'sqlite' ? false : 'two connections to one file: the embedded database only';

describe('the audit chain head across batches', { skip }, () => {
  let dataDir: string;
  let mine: Store;
  let theirs: Store;
  let myLog: AuditLog;
  let theirLog: AuditLog;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-chain-head-'));
    mine = connectSqlite(dataDir);
    theirs = connectSqlite(dataDir);
    await migrateToLatest(mine.db, mine.dialect);
    myLog = createAuditLog({ store: mine, now: () => new Date() });
    theirLog = createAuditLog({ store: theirs, now: () => new Date() });
  });
  after(async () => {
    await theirs?.close();
    await mine?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const record = (log: AuditLog, detail: string) =>
    log.run((_trx, record) =>
      record({
        actor: { type: 'SYSTEM', id: null },
        action: 'CREATE',
        objectType: 'SECRET',
        objectId: null,
        detail,
      }),
    );
  const seqs = async () =>
    (await mine.db.selectFrom('audit_events').select(['seq', 'detail']).orderBy('seq').execute()).map(
      (r) => `${Number(r.seq)}:${r.detail}`,
    );

  test('batches of one process chain on; another process appending in between is seen', async () => {
    await record(myLog, 'mine 1');
    await Promise.all([record(myLog, 'mine 2'), record(myLog, 'mine 3')]);
    await record(theirLog, 'theirs 1');
    await record(myLog, 'mine 4');
    await record(theirLog, 'theirs 2');
    await record(theirLog, 'theirs 3');
    await record(myLog, 'mine 5');
    assert.deepEqual(await seqs(), [
      '1:mine 1',
      '2:mine 2',
      '3:mine 3',
      '4:theirs 1',
      '5:mine 4',
      '6:theirs 2',
      '7:theirs 3',
      '8:mine 5',
    ]);
    assert.deepEqual(await verifyAuditChain(mine), { ok: true, events: 8, fromSeq: 1 });
  });

  test('a row written on the same connection outside the log is seen too', async () => {
    await record(myLog, 'before');
    const last = await mine.db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const unhashed = {
      seq: Number(last.seq) + 1,
      occurred_at: new Date().toISOString(),
      actor_type: 'SYSTEM' as const,
      actor_id: null,
      action: 'DELETE' as const,
      object_type: 'SECRET' as const,
      object_id: null,
      ip: null,
      user_agent: null,
      request_id: null,
      outcome: 'SUCCESS' as const,
      detail: 'written directly',
    };
    await mine.db
      .insertInto('audit_events')
      .values({ ...unhashed, prev_hash: last.hash, hash: hashEvent(last.hash, unhashed) })
      .execute();
    await record(myLog, 'after');
    const tail = (await seqs()).slice(-3);
    assert.deepEqual(tail, [
      `${unhashed.seq - 1}:before`,
      `${unhashed.seq}:written directly`,
      `${unhashed.seq + 1}:after`,
    ]);
    assert.equal((await verifyAuditChain(mine)).ok, true);
  });
});
