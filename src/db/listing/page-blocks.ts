import { type Kysely, sql } from 'kysely';
import { changeStampOf } from '../change-stamp.js';
import type { Database, Dialect } from '../database.js';
import { lockWithinTransaction } from '../locks.js';
import { countInStripe, listLockName, settleStripes } from './block-stripes.js';
import type { CountedList, Counting, PageStart } from './counting.js';
import { deleteBlock, type SortKey } from './page-block-rows.js';

export type { SortKey } from './page-block-rows.js';

/**
 * Page blocks make `total` and deep pages cheap on large lists (see docs/performance.md).
 *
 * A list ordered oldest first (a creation time, then its key) has its rows cut into consecutive
 * blocks; `page_blocks` keeps each block's first sort key and its row count. A block covers the
 * rows from its first key up to the next block's. Then:
 * - `total` is the sum of the counts: about N/BLOCK_ROWS rows read instead of a count over N;
 * - page p starts in the block holding row p × pageSize, so the page query seeks to that block's
 *   first key and skips fewer than a block's rows, instead of skipping p × pageSize from the start.
 *
 * Every insert and delete of a listed row (through its listing, define-listing.ts) updates its
 * block in the same transaction, and decides from the blocks it reads: so counting is serialised
 * per list (countLock, a transaction-scoped lock held to the commit; on SQLite its single writer
 * is that already). Without it, writers on different connections each decide from blocks the
 * other is about to change (a block deleted at its last row while another writer adds to it, two
 * writers moving the first block's start), and counts are lost: 2,500 concurrent creates and 834
 * deletes once left four blocks of ten wrong. On PostgreSQL, where that lock would make every
 * create of a fleet wait for the one before, writers add to their block's stripes instead, side
 * by side, and only settling changes the blocks (block-stripes.ts).
 */
export const BLOCK_ROWS = 1000;

type Db = Kysely<Database>;

/** The list's name in page_blocks: its table's. */
type ListName = string;

function blocksOf(db: Db, list: ListName) {
  return db
    .selectFrom('page_blocks')
    .select(['first_created_at', 'first_id', 'row_count'])
    .where('list', '=', list);
}

/** The block whose range holds `key`, if any block starts at or before it. */
async function blockHolding(db: Db, list: ListName, key: SortKey) {
  return blocksOf(db, list)
    .where((eb) => eb(eb.refTuple('first_created_at', 'first_id'), '<=', eb.tuple(key.createdAt, key.id)))
    .orderBy('first_created_at', 'desc')
    .orderBy('first_id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

function addToBlock(
  db: Db,
  list: ListName,
  block: { first_created_at: string; first_id: string },
  delta: number,
) {
  return db
    .updateTable('page_blocks')
    .set((eb) => ({ row_count: eb('row_count', '+', delta) }))
    .where('list', '=', list)
    .where('first_created_at', '=', block.first_created_at)
    .where('first_id', '=', block.first_id)
    .execute();
}

async function isLastKey(db: Db, list: CountedList, key: SortKey): Promise<boolean> {
  const [time, id] = list.order.by as [string, string];
  const { rows: later } = await sql`
    select 1 from ${sql.table(list.table)}
    where (${sql.ref(time)}, ${sql.ref(id)}) > (${key.createdAt}, ${key.id}) limit 1`.execute(db);
  return later.length === 0;
}

/**
 * Taken before a writer reads the blocks it will change. Under it, each statement sees every
 * count committed before (PostgreSQL's read committed takes a snapshot per statement, and the lock
 * is released only at the holder's commit), so the blocks read are the blocks changed. Rows other
 * writers inserted or deleted but have not counted yet are counted by them after us, into the
 * block holding them then. No transaction counts rows of both lists, so the two locks never
 * wait on each other.
 */
function countLock(db: Db, dialect: Dialect, list: ListName): Promise<void> {
  return lockWithinTransaction(db, dialect, listLockName(list));
}

/** Counts a row just inserted into `list` (call in the inserting transaction). */
async function countInsert(
  db: Db,
  dialect: Dialect,
  counted: CountedList,
  key: SortKey,
  blockRows: number,
): Promise<void> {
  const list = counted.table;
  await countLock(db, dialect, list);
  // The common case in one statement: the row's block exists and has room.
  const { numAffectedRows } = await sql`
    update page_blocks set row_count = row_count + 1
    where list = ${list} and row_count < ${blockRows}
      and (first_created_at, first_id) = (
        select first_created_at, first_id from page_blocks
        where list = ${list} and (first_created_at, first_id) <= (${key.createdAt}, ${key.id})
        order by first_created_at desc, first_id desc limit 1)`.execute(db);
  if (numAffectedRows === 1n) return;
  const block = await blockHolding(db, list, key);
  if (block === undefined) {
    // Before every block, or no block yet: the first block now starts at this row.
    const first = await blocksOf(db, list)
      .orderBy('first_created_at')
      .orderBy('first_id')
      .limit(1)
      .executeTakeFirst();
    if (first === undefined) {
      await db
        .insertInto('page_blocks')
        .values({ list, first_created_at: key.createdAt, first_id: key.id, row_count: 1 })
        .execute();
      return;
    }
    await db
      .updateTable('page_blocks')
      .set((eb) => ({
        first_created_at: key.createdAt,
        first_id: key.id,
        row_count: eb('row_count', '+', 1),
      }))
      .where('list', '=', list)
      .where('first_created_at', '=', first.first_created_at)
      .where('first_id', '=', first.first_id)
      .execute();
    return;
  }
  // A full block is only closed behind the newest row: a block starting at a row with later rows
  // after it would take those rows into its range while another block counts them.
  if (block.row_count >= blockRows && (await isLastKey(db, counted, key))) {
    await db
      .insertInto('page_blocks')
      .values({ list, first_created_at: key.createdAt, first_id: key.id, row_count: 1 })
      .execute();
    return;
  }
  await addToBlock(db, list, block, 1);
}

/** Uncounts a row just deleted from `list` (call in the deleting transaction). */
async function countDelete(db: Db, dialect: Dialect, list: ListName, key: SortKey): Promise<void> {
  await countLock(db, dialect, list);
  const block = await blockHolding(db, list, key);
  if (block === undefined) return;
  if (block.row_count <= 1) {
    await deleteBlock(db, list, block);
    return;
  }
  await addToBlock(db, list, block, -1);
}

/** A list's blocks in list order, with the number of rows before each: a page's block by bisection. */
interface BlockIndex {
  /** The change stamp it was read under (change-stamp.ts); undefined: not cached. */
  stamp: string | undefined;
  firsts: SortKey[];
  /** Rows before block i, in list order; the last entry is the total. */
  before: number[];
}

/**
 * The indexes read last, per root Kysely instance and list, while its change stamp holds. Reading
 * every block costs about 0.7 ms at a million rows (a thousand blocks): on SQLite a page of a
 * list nobody writes to reads none. An index is N/BLOCK_ROWS keys, so it stays small.
 */
const indexes = new WeakMap<Db, Map<ListName, BlockIndex>>();

async function readIndex(db: Db, list: ListName, stamp: string | undefined): Promise<BlockIndex> {
  // Each block's count is its own and its stripes' (block-stripes.ts; none on SQLite), read in one
  // statement: one snapshot of both.
  const { rows: blocks } = await sql<{
    first_created_at: string;
    first_id: string;
    row_count: number | string;
  }>`
    select block.first_created_at, block.first_id,
           block.row_count + coalesce(striped.added, 0) as row_count
    from page_blocks as block
    left join (select first_created_at, first_id, sum(row_count) as added from page_block_stripes
               where list = ${list} group by first_created_at, first_id) as striped
      on striped.first_created_at = block.first_created_at and striped.first_id = block.first_id
    where block.list = ${list}
    order by block.first_created_at, block.first_id`.execute(db);
  const firsts: SortKey[] = [];
  const before = [0];
  for (const block of blocks) {
    firsts.push({ createdAt: block.first_created_at, id: block.first_id });
    before.push((before.at(-1) as number) + Number(block.row_count));
  }
  return { stamp, firsts, before };
}

async function indexOf(db: Db, list: ListName): Promise<BlockIndex> {
  // Taken before the blocks are read: a change in between makes the next reading differ.
  const stamp = changeStampOf(db)?.();
  if (stamp === undefined) return readIndex(db, list, undefined);
  const hit = indexes.get(db)?.get(list);
  if (hit !== undefined && hit.stamp === stamp) return hit;
  const index = await readIndex(db, list, stamp);
  const cached = indexes.get(db) ?? new Map<ListName, BlockIndex>();
  cached.set(list, index);
  indexes.set(db, cached);
  return index;
}

/** The list's total, and where the page at `offset` starts: its block's first key, and a skip. */
async function pageStart(db: Db, list: ListName, offset: number): Promise<PageStart> {
  const { firsts, before } = await indexOf(db, list);
  const total = before.at(-1) as number;
  if (offset >= total) return { total, start: undefined };
  // The last block with fewer than `offset + 1` rows before it holds row `offset`.
  let low = 0;
  let high = firsts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((before[middle] as number) <= offset) low = middle;
    else high = middle - 1;
  }
  const from = firsts[low] as SortKey;
  return { total, start: { from: [from.createdAt, from.id], skip: offset - (before[low] as number) } };
}

/**
 * Builds a list's blocks afresh from its rows: every BLOCK_ROWS-th row in list order starts a
 * block. For the migration that introduces blocks (which names its tables and keys as literals,
 * frozen with it) and for bulk loads that bypass the listing.
 */
export async function rebuildPageBlocks(
  // biome-ignore lint/suspicious/noExplicitAny: also run by migrations, whose Kysely is untyped
  db: Kysely<any>,
  { table, key, createdAt }: { table: string; key: string; createdAt: string },
): Promise<void> {
  const [time, id] = [sql.ref(createdAt), sql.ref(key)];
  await db.deleteFrom('page_blocks').where('list', '=', table).execute();
  await sql`
    insert into page_blocks (list, first_created_at, first_id, row_count)
    select ${table}, ${time}, ${id},
           case when total - position + 1 < ${BLOCK_ROWS} then total - position + 1 else ${BLOCK_ROWS} end
    from (
      select ${time}, ${id},
             row_number() over (order by ${time}, ${id}) as position,
             count(*) over () as total
      from ${sql.table(table)}
    ) numbered
    where (position - 1) % ${BLOCK_ROWS} = 0`.execute(db);
}

const sortKeyOf = (list: CountedList, row: Record<string, unknown>): SortKey => ({
  createdAt: row[list.order.by[0] as string] as string,
  id: row[list.key] as string,
});

/**
 * Counting by page blocks, for a list ordered oldest first by a creation time and then its key
 * (`order.by` = [time column, key], ascending), whose rows may be deleted anywhere.
 * `blockRows` is for tests, which cut blocks small to make splits and emptied blocks happen.
 */
export function pageBlocks({ blockRows = BLOCK_ROWS }: { blockRows?: number } = {}): Counting {
  return {
    check(list) {
      const { by, direction } = list.order;
      if (by.length !== 2 || by[1] !== list.key || direction !== 'asc') {
        throw new Error(`page blocks count a list ordered by (time, key) ascending; ${list.table} is not`);
      }
    },
    // PostgreSQL: many writers at once, each adding to a stripe (block-stripes.ts); SQLite: one
    // writer, counting in its block directly.
    inserted: (db, dialect, list, row) =>
      dialect === 'postgres'
        ? countInStripe(db, list.table, sortKeyOf(list, row), 1)
        : countInsert(db, dialect, list, sortKeyOf(list, row), blockRows),
    deleted: (db, dialect, list, row) =>
      dialect === 'postgres'
        ? countInStripe(db, list.table, sortKeyOf(list, row), -1)
        : countDelete(db, dialect, list.table, sortKeyOf(list, row)),
    pageStart: (db, list, offset) => pageStart(db, list.table, offset),
    settle: async (db, dialect, list) => {
      if (dialect === 'postgres') await settleStripes(db, list, blockRows);
    },
    async rebuild(db, list) {
      await db.deleteFrom('page_block_stripes').where('list', '=', list.table).execute();
      await rebuildPageBlocks(db, {
        table: list.table,
        key: list.key,
        createdAt: list.order.by[0] as string,
      });
    },
  };
}
