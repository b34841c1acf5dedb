/**
 * The embedded database's driver reads rows as arrays and names their fields itself, keeping each
 * statement's column names (src/db/sqlite-driver.ts). These tests change what a cached `select *`
 * returns, through the same connection and through another one, and expect the right names.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { connectSqlite } from '../../src/db/connect.js';
import type { Store } from '../../src/db/database.js';
import { testDialect } from '../helpers/database.js';

const skip = testDialect() === 'sqlite' ? false : "the embedded database's own driver: SQLite pass only";

/** The scratch table is outside the app's schema. */
const untyped = (store: Store) => store.db as unknown as Kysely<any>;

async function withStores(run: (mine: Store, theirs: Store) => Promise<void>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-rows-'));
  const mine = connectSqlite(dataDir);
  const theirs = connectSqlite(dataDir);
  try {
    await run(mine, theirs);
  } finally {
    await theirs.close();
    await mine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const selectAll = (store: Store) => untyped(store).selectFrom('scratch').selectAll().orderBy('a').execute();

describe('rows of the embedded database', { skip }, () => {
  test('a row is an object of its columns, in their order, with SQLite types and nulls', async () => {
    await withStores(async (mine) => {
      await sql`create table scratch (a integer, b text, c blob)`.execute(mine.db);
      await sql`insert into scratch values (1, 'one', x'0102'), (2, null, null)`.execute(mine.db);
      const rows = await selectAll(mine);
      assert.deepEqual(rows, [
        { a: 1, b: 'one', c: Buffer.from([1, 2]) },
        { a: 2, b: null, c: null },
      ]);
      assert.deepEqual(Object.keys(rows[0] as object), ['a', 'b', 'c']);
      assert.deepEqual(
        await untyped(mine).selectFrom('scratch').select('b').where('a', '=', 3).execute(),
        [],
      );
    });
  });

  test('a column this connection adds, renames or drops shows in the next read of a cached statement', async () => {
    await withStores(async (mine) => {
      await sql`create table scratch (a integer, b text)`.execute(mine.db);
      await sql`insert into scratch values (1, 'x')`.execute(mine.db);
      assert.deepEqual(await selectAll(mine), [{ a: 1, b: 'x' }]);
      await sql`alter table scratch rename column b to renamed`.execute(mine.db);
      assert.deepEqual(await selectAll(mine), [{ a: 1, renamed: 'x' }]);
      await sql`alter table scratch add column c text default 'new'`.execute(mine.db);
      assert.deepEqual(await selectAll(mine), [{ a: 1, renamed: 'x', c: 'new' }]);
    });
  });

  test('a column another connection adds or drops shows in the next read too', async () => {
    await withStores(async (mine, theirs) => {
      await sql`create table scratch (a integer, b text)`.execute(mine.db);
      await sql`insert into scratch values (1, 'x')`.execute(mine.db);
      assert.deepEqual(await selectAll(mine), [{ a: 1, b: 'x' }]);
      await sql`alter table scratch add column c text default 'theirs'`.execute(theirs.db);
      assert.deepEqual(await selectAll(mine), [{ a: 1, b: 'x', c: 'theirs' }]);
      await sql`alter table scratch drop column b`.execute(theirs.db);
      assert.deepEqual(await selectAll(mine), [{ a: 1, c: 'theirs' }]);
    });
  });

  test('a result column named __proto__ is refused, not turned into a prototype', async () => {
    await withStores(async (mine) => {
      await assert.rejects(sql`select 1 as "__proto__"`.execute(mine.db), /may not be named __proto__/);
    });
  });
});
