/** Queries compiled once per database and run with each call's arguments, on this pass's dialect. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Kysely } from 'kysely';
import { compiledInsert, compiledOnce } from '../../src/db/compiled-once.js';
import type { Database, Store } from '../../src/db/database.js';
import { openMigratedStore } from '../helpers/database.js';

let store: Store;
let close: () => Promise<void>;
before(async () => {
  ({ store, close } = await openMigratedStore('compiled-once'));
  for (const [id, tag, name] of [
    ['se0000000000000001', 'alpha', 'kept'],
    ['se0000000000000002', 'beta', 'kept'],
    ['se0000000000000003', 'gamma', 'other'],
  ] as const) {
    await store.db
      .insertInto('secrets')
      .values({ id, tag, name, current_version: 1, created_at: '2026-01-01', updated_at: '2026-01-01' })
      .execute();
  }
});
after(async () => close());

test('the query is built once and answers each call with its own arguments', async () => {
  let builds = 0;
  const byTag = compiledOnce((db: Kysely<Database>, tag: string) => {
    builds += 1;
    // 'kept' is the query's own constant: it must stay in place between the arguments.
    return db.selectFrom('secrets').select('id').where('name', '=', 'kept').where('tag', '=', tag);
  });
  assert.deepEqual(await byTag(store.db, 'alpha'), [{ id: 'se0000000000000001' }]);
  assert.deepEqual(await byTag(store.db, 'beta'), [{ id: 'se0000000000000002' }]);
  assert.deepEqual(await byTag(store.db, 'gamma'), [], "gamma's name is not the constant");
  assert.equal(builds, 1);
});

test('several arguments of several types, limit and offset among them', async () => {
  const page = compiledOnce((db: Kysely<Database>, from: string, skip: number, limit: number) =>
    db.selectFrom('secrets').select('tag').where('id', '>=', from).orderBy('id').offset(skip).limit(limit),
  );
  assert.deepEqual(await page(store.db, 'se0000000000000001', 1, 1), [{ tag: 'beta' }]);
  assert.deepEqual(await page(store.db, 'se0000000000000001', 0, 3), [
    { tag: 'alpha' },
    { tag: 'beta' },
    { tag: 'gamma' },
  ]);
});

test('a transaction runs the same compiled query and sees what it wrote', async () => {
  let builds = 0;
  const byTag = compiledOnce((db: Kysely<Database>, tag: string) => {
    builds += 1;
    return db.selectFrom('secrets').select('id').where('tag', '=', tag);
  });
  await byTag(store.db, 'alpha');
  await store.db
    .transaction()
    .execute(async (trx) => {
      await trx
        .insertInto('secrets')
        .values({
          id: 'se0000000000000004',
          tag: 'delta',
          name: 'in a transaction',
          current_version: 1,
          created_at: '2026-01-02',
          updated_at: '2026-01-02',
        })
        .execute();
      assert.deepEqual(await byTag(trx, 'delta'), [{ id: 'se0000000000000004' }]);
      assert.deepEqual(await byTag(trx, 'alpha'), [{ id: 'se0000000000000001' }]);
      throw new Error('roll back');
    })
    .catch((error: Error) => assert.equal(error.message, 'roll back'));
  assert.equal(builds, 1, 'the database and its transaction share one compiled query');
  assert.deepEqual(await byTag(store.db, 'delta'), []);
});

test('an argument the query does not keep as a parameter is refused', async () => {
  const ignoresItsArgument = compiledOnce((db: Kysely<Database>, _tag: string) =>
    db.selectFrom('secrets').select('id').where('tag', '=', 'alpha'),
  );
  await assert.rejects(ignoresItsArgument(store.db, 'beta'), /argument 0 of a query compiled once/);
});

test('an insert compiled once writes each row it is given, and refuses a row with a gap or an extra', async () => {
  const insert = compiledInsert('secrets', {
    id: true,
    tag: true,
    name: true,
    current_version: true,
    created_at: true,
    updated_at: true,
    list_item: true,
  });
  const row = {
    id: 'se0000000000000010',
    tag: 'inserted-once',
    name: 'first',
    current_version: 1,
    created_at: '2026-01-03',
    updated_at: '2026-01-03',
    list_item: null,
  };
  await insert(store.db, row);
  await insert(store.db, { ...row, id: 'se0000000000000011', tag: 'inserted-twice', name: 'second' });
  const stored = await store.db
    .selectFrom('secrets')
    .select(['id', 'tag', 'name', 'current_version', 'created_at', 'updated_at', 'list_item'])
    .where('id', 'in', ['se0000000000000010', 'se0000000000000011'])
    .orderBy('id')
    .execute();
  assert.deepEqual(
    stored.map((r) => ({ ...r, current_version: Number(r.current_version) })),
    [row, { ...row, id: 'se0000000000000011', tag: 'inserted-twice', name: 'second' }],
  );

  const { updated_at: _, ...withoutOne } = row;
  await assert.rejects(
    insert(store.db, { ...withoutOne, id: 'se0000000000000012', tag: 'gap' } as typeof row),
    /must have exactly the columns/,
  );
  await assert.rejects(
    insert(store.db, { ...row, id: 'se0000000000000013', tag: 'extra', extra: 1 } as typeof row),
    /must have exactly the columns/,
  );
  const refused = await store.db
    .selectFrom('secrets')
    .select('id')
    .where('tag', 'in', ['gap', 'extra'])
    .execute();
  assert.deepEqual(refused, []);
});
