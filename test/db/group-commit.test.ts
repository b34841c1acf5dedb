import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/db/database.js';
import { createGroupCommit } from '../../src/db/group-commit.js';
import { QUERY_INSIDE_WRITE } from '../../src/db/sqlite-driver.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';

// Group commit on the dialect of this pass: shared transactions, isolated failures, durable acks.
describe(`group commit (${testDialect()})`, () => {
  let store: Store;
  let close: () => Promise<void>;

  before(async () => {
    ({ store, close } = await openMigratedStore('group-commit'));
  });
  after(() => close());

  let row = 0;
  /** An API key row; each call a fresh cid unless one is given (to make a clash). */
  function keyRow(name: string, cid = `akgroup${String(++row).padStart(12, '0')}`) {
    return {
      cid,
      name,
      description: null,
      token_hash: `${name}-${cid}`.padEnd(64, '0'),
      last4: 'abcd',
      roles: '[]',
      is_admin: 0,
      created_at: new Date().toISOString(),
      expires_at: null,
    };
  }

  /** A unit that stores one distinguishable row. */
  const insertKey = (name: string) => async (trx: Store['db']) => {
    await trx.insertInto('api_keys').values(keyRow(name)).execute();
    return name;
  };

  const stored = async (prefix: string) =>
    (await store.db.selectFrom('api_keys').select('name').where('name', 'like', `${prefix}%`).execute())
      .map((r) => r.name)
      .sort();

  test('concurrent units share one transaction, and each gets its own result', async () => {
    let batches = 0;
    const commits = createGroupCommit({
      db: store.db,
      dialect: store.dialect,
      begin: async () => {
        batches += 1;
      },
    });
    const names = Array.from({ length: 20 }, (_, i) => `shared-${String(i).padStart(2, '0')}`);
    const results = await Promise.all(names.map((name) => commits.run(insertKey(name))));
    assert.deepEqual(results, names);
    assert.equal(batches, 1, 'twenty units queued in one turn should commit together');
    assert.deepEqual(await stored('shared-'), names);
  });

  test('a unit without a savepoint whose one statement fails fails alone; the others commit', async () => {
    // The statement writes two rows and fails at the second (a cid clash): SQLite undoes the
    // whole statement, so nothing of the unit is left for the batch's commit to store. (PostgreSQL
    // would abort the transaction: there the unit keeps its savepoint, with the same outcome.)
    const commits = createGroupCommit({ db: store.db, dialect: store.dialect });
    const taken = keyRow('unsaved-taken');
    await store.db.insertInto('api_keys').values(taken).execute();
    const outcomes = await Promise.allSettled([
      commits.run(insertKey('unsaved-a'), { savepoint: false }),
      commits.run(
        async (trx) => {
          await trx
            .insertInto('api_keys')
            .values([keyRow('unsaved-failed'), keyRow('unsaved-failed-clash', taken.cid)])
            .execute();
        },
        { savepoint: false },
      ),
      commits.run(insertKey('unsaved-c'), { savepoint: false }),
      commits.run(insertKey('unsaved-d')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(await stored('unsaved-'), ['unsaved-a', 'unsaved-c', 'unsaved-d', 'unsaved-taken']);
  });

  test('a unit that throws is rolled back alone; the others commit', async () => {
    // Two failing units in a row: savepoints are named by position, and neither rollback may
    // reach another unit's row.
    const commits = createGroupCommit({ db: store.db, dialect: store.dialect });
    const failing = (name: string) => async (trx: Store['db']) => {
      await insertKey(name)(trx);
      throw new Error(`${name} fails after writing`);
    };
    const outcomes = await Promise.allSettled([
      commits.run(insertKey('isolated-a')),
      commits.run(failing('isolated-failed')),
      commits.run(failing('isolated-failed-too')),
      commits.run(insertKey('isolated-d')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.match(
      String((outcomes[1] as PromiseRejectedResult).reason),
      /isolated-failed fails after writing/,
    );
    assert.deepEqual(await stored('isolated-'), ['isolated-a', 'isolated-d']);
  });

  test('a unit failing on a constraint does not spoil the transaction for the rest', async () => {
    const commits = createGroupCommit({ db: store.db, dialect: store.dialect });
    const clash = async (trx: Store['db']) => {
      await trx.insertInto('api_keys').values(keyRow('constraint-clash', 'akgroupclash000000')).execute();
    };
    const outcomes = await Promise.allSettled([
      commits.run(clash),
      commits.run(clash),
      commits.run(insertKey('constraint-after')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(await stored('constraint-'), ['constraint-after', 'constraint-clash']);
  });

  test('when the batch cannot commit, every unit fails and nothing is stored', async () => {
    const commits = createGroupCommit({
      db: store.db,
      dialect: store.dialect,
      begin: async () => {
        throw new Error('storage unavailable');
      },
    });
    const outcomes = await Promise.allSettled([
      commits.run(insertKey('failed-batch-a')),
      commits.run(insertKey('failed-batch-b')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    assert.deepEqual(await stored('failed-batch-'), []);
  });

  test('beforeCommit runs after the units, in their transaction; afterBatch hears how it ended', async () => {
    const seen: number[] = [];
    const ended: boolean[] = [];
    let failCommit = false;
    const commits = createGroupCommit({
      db: store.db,
      dialect: store.dialect,
      beforeCommit: async (trx) => {
        // Inside the batch's transaction: it sees the units' uncommitted rows.
        const rows = await trx
          .selectFrom('api_keys')
          .select('name')
          .where('name', 'like', 'hooks-%')
          .execute();
        seen.push(rows.length);
        if (failCommit) throw new Error('refused at the last step');
      },
      afterBatch: (committed) => ended.push(committed),
    });
    await Promise.all([commits.run(insertKey('hooks-a')), commits.run(insertKey('hooks-b'))]);
    assert.deepEqual(seen, [2]);
    assert.deepEqual(ended, [true]);

    failCommit = true;
    const outcomes = await Promise.allSettled([commits.run(insertKey('hooks-c'))]);
    assert.equal(outcomes[0]?.status, 'rejected');
    assert.deepEqual(seen, [2, 3]);
    assert.deepEqual(ended, [true, false]);
    assert.deepEqual(await stored('hooks-'), ['hooks-a', 'hooks-b'], 'the failed batch stored nothing');
  });

  test('units arriving while a batch commits form the next batch, in order', async () => {
    let batches = 0;
    const commits = createGroupCommit({
      db: store.db,
      dialect: store.dialect,
      begin: async () => {
        batches += 1;
      },
      maxBatch: 4,
    });
    const names = Array.from({ length: 10 }, (_, i) => `ordered-${String(i).padStart(2, '0')}`);
    const order: string[] = [];
    await Promise.all(names.map((name) => commits.run(insertKey(name)).then((n) => order.push(n))));
    assert.deepEqual(order, names);
    assert.equal(batches, 3, 'ten units with at most four per batch: three batches');
    assert.deepEqual(await stored('ordered-'), names);
  });

  // The embedded database has one connection, which a write holds to its commit: a query through
  // `db` from inside the write would wait for the commit, and the commit for it. PostgreSQL runs
  // such a query on another connection of its pool (outside the transaction, but it returns).
  const oneConnection = testDialect() === 'sqlite' ? false : 'one connection: the embedded database only';

  test('a unit querying through db instead of its trx fails at once with that error, and the rest commit', {
    skip: oneConnection,
    // Without the check the unit waits forever: the timeout turns that into a failure.
    timeout: 5_000,
  }, async () => {
    const commits = createGroupCommit({ db: store.db, dialect: store.dialect });
    const outcomes = await Promise.allSettled([
      commits.run(insertKey('outside-a')),
      commits.run(async (trx) => {
        await insertKey('outside-wrong')(trx);
        return store.db.selectFrom('api_keys').select('name').execute();
      }),
      commits.run(insertKey('outside-c')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(String((outcomes[1] as PromiseRejectedResult).reason), `Error: ${QUERY_INSIDE_WRITE}`);
    assert.deepEqual(await stored('outside-'), ['outside-a', 'outside-c'], 'the failing unit was undone');
  });

  test('so does a query through db inside a plain transaction', {
    skip: oneConnection,
    timeout: 5_000,
  }, async () => {
    await assert.rejects(
      store.db.transaction().execute(async (trx) => {
        await insertKey('plain-wrong')(trx);
        await store.db.selectFrom('api_keys').select('name').execute();
      }),
      { message: QUERY_INSIDE_WRITE },
    );
    assert.deepEqual(await stored('plain-'), []);
  });

  test('a query through db started inside a write but not waited for runs after the commit', {
    skip: oneConnection,
    timeout: 5_000,
  }, async () => {
    const commits = createGroupCommit({ db: store.db, dialect: store.dialect });
    let later: Promise<{ name: string }[]> | undefined;
    await commits.run(async (trx) => {
      await insertKey('after-commit')(trx);
      // Not a deadlock: the unit does not wait for it, so the write commits and then it runs.
      later = store.db.selectFrom('api_keys').select('name').where('name', '=', 'after-commit').execute();
    });
    assert.deepEqual(await later, [{ name: 'after-commit' }]);
  });
});
