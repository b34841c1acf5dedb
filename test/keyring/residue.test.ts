/**
 * Overwritten key material and deleted ciphertext leave no copy in the data folder's files (the
 * database or its write-ahead log), even while the database is open. After a rotation retires the
 * old master key, the links that sealed each key under the other are cleared: whoever holds the
 * retired key and a later copy of the folder must not be able to open the new key with an old
 * link. A deleted secret's ciphertext is zeroed in place (secure_delete), not left in free space.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { generateMasterKey, masterKeyFrom } from '../../src/crypto/master-key.js';
import {
  connectSqlite,
  FORGET_WITHIN_MS,
  forgetOverwrittenData,
  SQLITE_FILE_NAME,
} from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import SQLite from '../../src/db/sqlite-native.js';
import { openKeyring } from '../../src/features/keyring/keyring.js';
import { listMasterKeys } from '../../src/features/keyring/keyring.repository.js';
import { rekey } from '../../src/features/keyring/rekey.js';
import { deleteSecret } from '../../src/features/secrets/secrets.repository.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

const skip =
  testDialect() === 'sqlite' ? false : 'data files are the embedded default’s (SQLite): covered there';
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-rekey-residue-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('a retired key’s links leave no copy in the database or its log', { skip }, async () => {
  const current = masterKeyFrom(generateMasterKey());
  const next = masterKeyFrom(generateMasterKey());
  const store = connectSqlite(dataDir);
  try {
    await migrateToLatest(store.db, store.dialect);
    (await openKeyring({ store, configured: current, source: 'test' })).close();
    const links: Buffer[] = [];
    await rekey({
      store,
      current,
      next,
      graceMs: 0,
      // Both keys are linked at this point: note the links' bytes.
      onActive: async () => {
        for (const row of await listMasterKeys(store.db))
          if (row.link_data) links.push(Buffer.from(row.link_data));
      },
    });
    assert.equal(links.length, 2, 'both links were set during the rotation');
    const rows = await listMasterKeys(store.db);
    assert.ok(rows.every((row) => row.link_data === null));
    // The store is still open, as a running server's would be.
    for (const file of readdirSync(dataDir)) {
      const bytes = readFileSync(join(dataDir, file));
      for (const [i, link] of links.entries())
        assert.ok(!bytes.includes(link), `link ${i} is still in ${file}`);
    }
  } finally {
    await store.close();
  }
});

test('a deleted secret’s ciphertext leaves no copy in the database or its log', { skip }, async () => {
  const store = connectSqlite(dataDir);
  try {
    await migrateToLatest(store.db, store.dialect);
    const ciphertext = randomBytes(96);
    const at = new Date().toISOString();
    await store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('secrets')
        .values({
          id: 'se00000000000000aa',
          tag: 'residue',
          name: 'residue',
          current_version: 1,
          created_at: at,
          updated_at: at,
        })
        .execute();
      const master = (await listMasterKeys(trx))[0];
      await trx
        .insertInto('secret_versions')
        .values({
          secret_id: 'se00000000000000aa',
          version: 1,
          value_iv: randomBytes(12),
          value_data: ciphertext,
          dek_iv: randomBytes(12),
          dek_data: randomBytes(48),
          master_key_id: master?.key_id ?? 'none',
          created_at: at,
          created_by: null,
        })
        .execute();
    });
    // Written through to the database file, then deleted there.
    assert.equal(await forgetOverwrittenData(store), true);
    await store.db.transaction().execute((trx) => deleteSecret(trx, store.dialect, 'se00000000000000aa'));
    assert.equal(await forgetOverwrittenData(store), true);
    for (const file of readdirSync(dataDir)) {
      assert.ok(
        !readFileSync(join(dataDir, file)).includes(ciphertext),
        `the ciphertext is still in ${file}`,
      );
    }
  } finally {
    await store.close();
  }
});

test('when another process keeps reading the log, the rotation says the links may remain', {
  skip,
}, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'tessera-rekey-busy-'));
  const store = connectSqlite(folder);
  const reader = new SQLite(join(folder, SQLITE_FILE_NAME));
  try {
    await migrateToLatest(store.db, store.dialect);
    const current = masterKeyFrom(generateMasterKey());
    (await openKeyring({ store, configured: current, source: 'test' })).close();
    const messages: string[] = [];
    await rekey({
      store,
      current,
      next: masterKeyFrom(generateMasterKey()),
      graceMs: 0,
      // From the switch on, a reader holds a snapshot: the log cannot be emptied under it.
      onActive: () => {
        reader.exec('begin');
        reader.prepare('select count(*) from master_keys').get();
      },
      onProgress: (progress) => messages.push(progress.message),
    });
    assert.ok(
      messages.some((m) => /retired; the database log stayed in use/.test(m)),
      messages.join('\n'),
    );
  } finally {
    if (reader.inTransaction) reader.exec('rollback');
    reader.close();
    await store.close();
    rmSync(folder, { recursive: true, force: true });
  }
});

/**
 * A store with a reader in another connection holding a snapshot from before the last write, as
 * a second process in the middle of a read would: the log cannot be emptied under it.
 */
async function storeWithReader(folder: string) {
  const store = connectSqlite(folder);
  await migrateToLatest(store.db, store.dialect);
  const reader = new SQLite(join(folder, SQLITE_FILE_NAME));
  reader.exec('begin');
  reader.prepare('select count(*) from master_keys').get();
  // Written after the reader's snapshot began: the log holds pages the reader may still need.
  await sql`create table written_after_the_snapshot (x integer)`.execute(store.db);
  const release = async () => {
    if (reader.inTransaction) reader.exec('rollback');
    reader.close();
    await store.close();
    rmSync(folder, { recursive: true, force: true });
  };
  return { store, reader, wal: join(folder, `${SQLITE_FILE_NAME}-wal`), release };
}

/** The longest the event loop stalled while `run` ran, in ms, and what `run` returned. */
async function maxStallDuring<T>(run: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // The monitor measures from its first sample on: a stall before that would go unseen.
  await eventually('the event-loop monitor taking its first sample', () => delay.count > 0, { everyMs: 5 });
  try {
    const result = await run();
    return { result, stallMs: delay.max / 1e6 };
  } finally {
    delay.disable();
  }
}

test('while another process holds the log, forgetting keeps the event loop and the store free', {
  skip,
}, async () => {
  const { store, release } = await storeWithReader(mkdtempSync(join(tmpdir(), 'tessera-forget-busy-')));
  try {
    let servedMeanwhile = 0;
    const { result, stallMs } = await maxStallDuring(async () => {
      const forgetting = forgetOverwrittenData(store);
      let done = false;
      void forgetting.finally(() => {
        done = true;
      });
      // Requests keep being served between attempts: a query through the same store answers. The
      // pause is the load's pace (a query every 20 ms), not a wait for anything.
      while (!done) {
        await sql`select 1`.execute(store.db);
        if (!done) servedMeanwhile += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return forgetting;
    });
    assert.equal(result, false, 'the reader never let go: the log could not be emptied');
    // One attempt used to stop the event loop for 5 s (the connection's busy timeout), 20 times.
    assert.ok(stallMs < 1_000, `the event loop stalled for ${stallMs.toFixed(0)} ms`);
    assert.ok(servedMeanwhile > 1, `only ${servedMeanwhile} queries ran while forgetting`);
  } finally {
    await release();
  }
});

test('a reader that lets go within the bound lets forgetting finish: the log is emptied', {
  skip,
}, async () => {
  const { store, reader, wal, release } = await storeWithReader(
    mkdtempSync(join(tmpdir(), 'tessera-forget-later-')),
  );
  try {
    // The reader's transaction ends on a timer, which fires only if the attempts leave the loop free.
    setTimeout(() => reader.exec('rollback'), FORGET_WITHIN_MS / 4);
    const { result, stallMs } = await maxStallDuring(() => forgetOverwrittenData(store));
    assert.equal(result, true);
    assert.equal(statSync(wal).size, 0, 'the log was truncated');
    assert.ok(stallMs < 1_000, `the event loop stalled for ${stallMs.toFixed(0)} ms`);
  } finally {
    await release();
  }
});
