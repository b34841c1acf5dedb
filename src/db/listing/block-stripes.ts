import { randomInt } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.js';
import { lockSharedWithinTransaction, lockWithinTransaction } from '../locks.js';
import type { CountedList } from './counting.js';
import { type BlockStart, deleteBlock, type SortKey } from './page-block-rows.js';

/**
 * PostgreSQL's page-block counting, for writers on many connections and nodes at once.
 *
 * Counting in `page_blocks` directly (page-blocks.ts) needs the list's lock from the count to the
 * commit, since a writer decides from blocks another may be changing: every create of the fleet
 * then waits for the one before it to commit, at a round trip's latency or more each. Here a
 * writer never changes the blocks: it adds +1 or -1 to one of STRIPES counters of the block
 * holding its row (`page_block_stripes`), under the list's lock taken *shared*, so writers do not
 * wait for each other (and rarely for a stripe's row). Only settling changes the blocks: under the
 * lock taken exclusively (which waits for the writers in flight, and they for it), it folds the
 * stripes into their blocks, splits blocks grown past their size by counting their range afresh,
 * and drops empty ones. A block's count is its row count plus its stripes' at any moment, so
 * totals and pages are exact whether settled or not.
 */
export const STRIPES = 64;

type Db = Kysely<Database>;

/** The list's lock, as page-blocks.ts names it: one lock, shared by writers here, exclusive there. */
export const listLockName = (list: string) => `page-blocks:${list}`;

/** The key a list's first block may start at when no row before it had one: before every real key. */
const LEAST: SortKey = { createdAt: '', id: '' };

/** Adds `delta` (1: a row inserted, -1: deleted) to the count of the block holding `key`, in the writer's transaction. */
export async function countInStripe(db: Db, list: string, key: SortKey, delta: 1 | -1): Promise<void> {
  await lockSharedWithinTransaction(db, 'postgres', listLockName(list));
  if (await addToHoldingBlock(db, list, key, delta)) return;
  // No block starts at or before the row (an empty list, or a row older than every block): a
  // block from the least key holds it. Under the shared lock no rows can be counted before the
  // first block, so the new block's range holds none yet; writers adding it at once add one.
  await db
    .insertInto('page_blocks')
    .values({ list, first_created_at: LEAST.createdAt, first_id: LEAST.id, row_count: 0 })
    .onConflict((oc) => oc.doNothing())
    .execute();
  if (!(await addToHoldingBlock(db, list, key, delta)))
    throw new Error(`no page block holds a row of ${list}`);
}

async function addToHoldingBlock(db: Db, list: string, key: SortKey, delta: 1 | -1): Promise<boolean> {
  const { numAffectedRows } = await sql`
    insert into page_block_stripes (list, first_created_at, first_id, stripe, row_count)
    select list, first_created_at, first_id, ${randomInt(STRIPES)}, ${delta} from page_blocks
    where list = ${list} and (first_created_at, first_id) <= (${key.createdAt}, ${key.id})
    order by first_created_at desc, first_id desc limit 1
    on conflict (list, first_created_at, first_id, stripe)
    do update set row_count = page_block_stripes.row_count + excluded.row_count`.execute(db);
  return numAffectedRows === 1n;
}

/** The lists that have stripes to settle. */
export async function listsWithStripes(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('page_block_stripes').select('list').distinct().execute();
  return rows.map((row) => row.list);
}

/**
 * Folds the list's stripes into its blocks, splits blocks past `blockRows` and drops empty ones,
 * in one transaction under the list's exclusive lock: it waits for the writers in flight to
 * commit, and new ones wait for it (a few round trips). Two nodes settling at once take turns;
 * the second finds little or nothing left.
 */
export async function settleStripes(db: Db, counted: CountedList, blockRows: number): Promise<void> {
  const list = counted.table;
  await db.transaction().execute(async (trx) => {
    await lockWithinTransaction(trx, 'postgres', listLockName(list));
    await sql`with folded as (
        delete from page_block_stripes where list = ${list}
        returning first_created_at, first_id, row_count)
      update page_blocks as block set row_count = block.row_count + added.rows
      from (select first_created_at, first_id, sum(row_count) as rows from folded
            group by first_created_at, first_id) as added
      where block.list = ${list} and block.first_created_at = added.first_created_at
        and block.first_id = added.first_id`.execute(trx);
    const grown = await trx
      .selectFrom('page_blocks')
      .select(['first_created_at', 'first_id'])
      .where('list', '=', list)
      .where('row_count', '>', blockRows)
      .execute();
    for (const block of grown) await splitBlock(trx, counted, block, blockRows);
    await trx.deleteFrom('page_blocks').where('list', '=', list).where('row_count', '=', 0).execute();
  });
}

/**
 * Cuts a block into blocks of `blockRows` by counting the rows in its range (from its first key
 * to the next block's): the first keeps its start, each next starts at every `blockRows`-th row.
 * Under the exclusive lock every committed row is counted, and rows not yet committed are counted
 * by their writers later, into whichever block holds them then.
 */
async function splitBlock(
  trx: Db,
  counted: CountedList,
  block: BlockStart,
  blockRows: number,
): Promise<void> {
  const list = counted.table;
  // A page-blocks list is ordered by (time, key): pageBlocks().check refuses any other.
  const [time, id] = [sql.ref(counted.order.by[0] as string), sql.ref(counted.key)];
  const next = await trx
    .selectFrom('page_blocks')
    .select(['first_created_at', 'first_id'])
    .where('list', '=', list)
    .where((eb) =>
      eb(eb.refTuple('first_created_at', 'first_id'), '>', eb.tuple(block.first_created_at, block.first_id)),
    )
    .orderBy('first_created_at')
    .orderBy('first_id')
    .limit(1)
    .executeTakeFirst();
  const below =
    next === undefined ? sql`true` : sql`(${time}, ${id}) < (${next.first_created_at}, ${next.first_id})`;
  const { rows: starts } = await sql<{
    created_at: string;
    id: string;
    position: number | string;
    total: number | string;
  }>`
    select created_at, id, position, total from (
      select ${time} as created_at, ${id} as id,
             row_number() over (order by ${time}, ${id}) as position, count(*) over () as total
      from ${sql.table(list)}
      where (${time}, ${id}) >= (${block.first_created_at}, ${block.first_id}) and ${below}
    ) numbered
    where (position - 1) % ${blockRows} = 0
    order by position`.execute(trx);
  const total = Number(starts[0]?.total ?? 0);
  const blocks = starts.map((start, i) => ({
    list,
    first_created_at: i === 0 ? block.first_created_at : start.created_at,
    first_id: i === 0 ? block.first_id : start.id,
    row_count: Math.min(blockRows, total - i * blockRows),
  }));
  await deleteBlock(trx, list, block);
  if (blocks.length > 0) await trx.insertInto('page_blocks').values(blocks).execute();
}
