import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerChangeStamp } from '../../src/db/change-stamp.js';
import { connectSqlite } from '../../src/db/connect.js';
import type { Store } from '../../src/db/database.js';
import { defineListing } from '../../src/db/listing/define-listing.js';
import { pageBlocks, type SortKey } from '../../src/db/listing/page-blocks.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migration0004PageBlocks } from '../../src/db/migrations/0004-page-blocks.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';
import { secretsBlockCounts } from '../helpers/page-block-counts.js';

// Page blocks against the obvious answer (COUNT and OFFSET over the table), on this pass's dialect,
// with blocks of 4 rows so that splits, shrinking and emptied blocks all happen.
const BLOCK = 4;

/** The secrets table listed by id alone, counted in blocks of BLOCK rows. */
const listing = defineListing({
  table: 'secrets',
  key: 'id',
  order: { by: ['created_at', 'id'], direction: 'asc' },
  fields: [{ key: 'id', column: 'id' }],
  toItem: (row: { id: string; created_at: string }) => ({ id: row.id }),
  counting: pageBlocks({ blockRows: BLOCK }),
  storesItems: false,
});

/** A small deterministic random source: the same sequence on every run. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

const secretRow = (key: SortKey, tag = `tag-${key.id}`) => ({
  id: key.id,
  tag,
  name: 'page block test',
  current_version: 1,
  created_at: key.createdAt,
  updated_at: key.createdAt,
});

/** Inserts a secret row, through the listing (counted in its block) or not, in one transaction. */
async function insertRow(store: Store, key: SortKey, counted = true) {
  await store.db.transaction().execute(async (trx) => {
    if (counted) await listing.insert(trx, store.dialect, secretRow(key));
    else await trx.insertInto('secrets').values(secretRow(key)).execute();
  });
}

/** A page of secret ids read through the blocks (offset: a multiple of pageSize). */
async function idsOfPage(store: Store, offset: number, pageSize: number) {
  const page = await listing.page(store.db, store.dialect, { page: offset / pageSize, pageSize });
  return { rows: page.items, total: page.total };
}

describe(`page blocks (${testDialect()})`, () => {
  let store: Store;
  let close: () => Promise<void>;

  before(async () => {
    ({ store, close } = await openMigratedStore('page-blocks'));
  });
  after(() => close());

  async function deleteRow(key: SortKey) {
    await store.db.transaction().execute(async (trx) => {
      assert.equal(await listing.delete(trx, store.dialect, key.id), true);
    });
  }

  /** Every page of every size, read through the blocks and through OFFSET, must agree. */
  async function assertPagesMatch(label: string) {
    const all = await store.db
      .selectFrom('secrets')
      .select('id')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const ids = all.map((r) => r.id);
    for (const pageSize of [1, 3, 4, 7, 50]) {
      for (let offset = 0; offset <= ids.length + pageSize; offset += pageSize) {
        const { rows, total } = await idsOfPage(store, offset, pageSize);
        assert.equal(total, ids.length, `${label}: total`);
        assert.deepEqual(
          rows.map((r) => r.id),
          ids.slice(offset, offset + pageSize),
          `${label}: offset ${offset}, size ${pageSize}`,
        );
      }
    }
  }

  test('appends, deletes anywhere, rows older than every block, equal times: pages and totals stay exact', async () => {
    const next = random(7);
    const live: SortKey[] = [];
    let clock = 1_000_000;
    for (let step = 0; step < 160; step++) {
      const roll = next();
      if (roll < 0.55 || live.length === 0) {
        // Mostly later than everything, sometimes the same millisecond, sometimes earlier (a
        // node whose clock is behind).
        clock += roll < 0.4 ? 1 + Math.floor(next() * 5) : 0;
        const skew = next() < 0.15 ? Math.floor(next() * 2_000_000) : 0;
        const key = { createdAt: at(clock - skew), id: `s${String(step).padStart(5, '0')}` };
        await insertRow(store, key);
        live.push(key);
      } else {
        const [key] = live.splice(Math.floor(next() * live.length), 1);
        await deleteRow(key as SortKey);
      }
      if (step % 40 === 39) await assertPagesMatch(`after step ${step}`);
    }
    // Empty the list entirely, then start again.
    for (const key of live.splice(0)) await deleteRow(key);
    await assertPagesMatch('emptied');
    // PostgreSQL's writers count in stripes: the blocks change when the list is settled.
    await listing.settle(store.db, store.dialect);
    await assertPagesMatch('emptied, settled');
    const blocks = await store.db
      .selectFrom('page_blocks')
      .selectAll()
      .where('list', '=', 'secrets')
      .execute();
    assert.deepEqual(blocks, [], 'an empty list keeps no blocks');
    for (let i = 0; i < 9; i++) await insertRow(store, { createdAt: at(5_000_000 + i), id: `t${i}` });
    await assertPagesMatch('refilled');
    await listing.settle(store.db, store.dialect);
    await assertPagesMatch('refilled, settled');
    const refilled = await store.db
      .selectFrom('page_blocks')
      .selectAll()
      .where('list', '=', 'secrets')
      .execute();
    assert.equal(refilled.length, 3, 'nine appended rows in blocks of four: three blocks');
  });

  test('the migration builds the blocks of rows that existed before it', async () => {
    for (let i = 0; i < 2503; i++) {
      await insertRow(
        store,
        { createdAt: at(9_000_000 + Math.floor(i / 3)), id: `m${String(i).padStart(5, '0')}` },
        false,
      );
    }
    await store.db.deleteFrom('page_blocks').execute();
    await store.db.schema.dropTable('page_blocks').execute();
    await migration0004PageBlocks(store.dialect).up(store.db);
    const blocks = await store.db
      .selectFrom('page_blocks')
      .select('row_count')
      .where('list', '=', 'secrets')
      .orderBy('first_created_at')
      .orderBy('first_id')
      .execute();
    const rows = Number(
      (
        await store.db
          .selectFrom('secrets')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    assert.deepEqual(
      blocks.map((b) => Number(b.row_count)),
      [1000, 1000, rows - 2000],
    );
    const { rows: page, total } = await idsOfPage(store, 2400, 5);
    const expected = await store.db
      .selectFrom('secrets')
      .select('id')
      .orderBy('created_at')
      .orderBy('id')
      .offset(2400)
      .limit(5)
      .execute();
    assert.equal(total, rows);
    assert.deepEqual(page, expected);
  });
});

describe(`page blocks under concurrent writers (${testDialect()})`, () => {
  // Writers on several connections at once (the PostgreSQL server's pool: SQLite and PGlite run
  // one transaction at a time, so there they cannot race, and the test checks the plain case).
  // Blocks of four, so that concurrent writers split, shrink and empty blocks under each other.
  test('concurrent inserts and deletes leave every block counting exactly the rows in its range', async () => {
    const { store, close } = await openMigratedStore('page-blocks-concurrent');
    try {
      const next = random(11);
      const live: SortKey[] = [];
      let serial = 0;
      let clock = 20_000_000;
      /** One writer: a transaction per step, like a request; mostly appends, some deletes. */
      async function writer(steps: number) {
        for (let step = 0; step < steps; step++) {
          if (next() < 0.7 || live.length < 4) {
            // A row of "now", as the services write them: later than most, sometimes the same ms.
            clock += next() < 0.5 ? 1 : 0;
            const key = { createdAt: at(clock), id: `w${String(++serial).padStart(6, '0')}` };
            await insertRow(store, key);
            live.push(key);
          } else {
            const key = live.splice(Math.floor(next() * live.length), 1)[0] as SortKey;
            await store.db.transaction().execute(async (trx) => {
              await listing.delete(trx, store.dialect, key.id);
            });
          }
        }
      }
      // Settling (PostgreSQL: folding stripes, splitting and dropping blocks) runs throughout.
      let writing = true;
      const settler = (async () => {
        while (writing) {
          await listing.settle(store.db, store.dialect);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await Promise.all(Array.from({ length: 8 }, () => writer(40)));
      writing = false;
      await settler;
      const unsettled = await secretsBlockCounts(store.db);
      assert.deepEqual(unsettled.miscounted, [], 'before the last settling');
      await listing.settle(store.db, store.dialect);
      const { rows, blocks, miscounted, rowsBeforeFirst } = await secretsBlockCounts(store.db);
      assert.equal(rows.length, live.length);
      assert.deepEqual(
        miscounted,
        [],
        `${miscounted.length} of ${blocks.length} blocks count other than their rows`,
      );
      assert.equal(rowsBeforeFirst, 0, 'a row before every block');
      assert.equal((await idsOfPage(store, 0, 5)).total, rows.length, 'total');
    } finally {
      await close();
    }
  });
});

describe(`the block index kept between list reads (${testDialect()})`, () => {
  test('it is reused while the change stamp holds and read again once it moves', async () => {
    const { store, close } = await openMigratedStore('page-index');
    try {
      for (let i = 0; i < 10; i++) await insertRow(store, { createdAt: at(i), id: `c${i}` });
      await listing.settle(store.db, store.dialect);
      // A stamp this test moves by hand (on SQLite it replaces the real one for this store).
      let stamp = 1;
      registerChangeStamp(store.db, () => String(stamp));
      assert.equal((await idsOfPage(store, 0, 5)).total, 10);
      // Changed behind the stamp's back: the kept index still answers, so it was not read again.
      await store.db
        .updateTable('page_blocks')
        .set({ row_count: 100 })
        .where('list', '=', 'secrets')
        .execute();
      const kept = await store.db.selectFrom('page_blocks').select('row_count').execute();
      assert.ok(kept.length > 1, 'ten rows in blocks of four');
      assert.equal((await idsOfPage(store, 0, 5)).total, 10);
      stamp++;
      assert.equal((await idsOfPage(store, 0, 5)).total, 100 * kept.length);
    } finally {
      await close();
    }
  });

  test('a transaction rolled back while a list read waits for it leaves the pages exact', async () => {
    const { store, close } = await openMigratedStore('page-index-rollback');
    try {
      for (let i = 0; i < 6; i++) await insertRow(store, { createdAt: at(i), id: `r${i}` });
      assert.equal((await idsOfPage(store, 0, 50)).total, 6);
      let waiting: ReturnType<typeof idsOfPage> | undefined;
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await listing.insert(trx, store.dialect, secretRow({ createdAt: at(100), id: 'r-gone' }, 'gone'));
          // Its stamp is read now, mid-transaction; its blocks once the transaction is over.
          waiting = idsOfPage(store, 0, 50);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      const read = await waiting;
      assert.equal(read?.total, 6);
      assert.deepEqual(
        read?.rows.map((r) => r.id),
        ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'],
      );
      await insertRow(store, { createdAt: at(200), id: 'r6' });
      assert.equal((await idsOfPage(store, 0, 50)).total, 7, 'a later commit is seen');
    } finally {
      await close();
    }
  });

  test('a row another process commits to the same file is counted by the next read', {
    skip: testDialect() === 'sqlite' ? false : 'two connections to one file: the embedded database only',
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-page-index-'));
    const mine = connectSqlite(dataDir);
    const theirs = connectSqlite(dataDir);
    try {
      await migrateToLatest(mine.db, mine.dialect);
      for (let i = 0; i < 5; i++) await insertRow(mine, { createdAt: at(i), id: `p${i}` });
      assert.equal((await idsOfPage(mine, 0, 50)).total, 5);
      await insertRow(theirs, { createdAt: at(10), id: 'p-theirs' });
      const { total, rows } = await idsOfPage(mine, 4, 50);
      assert.equal(total, 6);
      assert.deepEqual(
        rows.map((r) => r.id),
        ['p4', 'p-theirs'],
      );
    } finally {
      await theirs.close();
      await mine.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
