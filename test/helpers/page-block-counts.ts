import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/database.js';

/**
 * What the page blocks of the secrets list claim beside what the table holds: every row in list
 * order, every block, and the blocks whose count differs from the rows in their range (a block
 * covers the rows from its first key up to the next block's first key). `rowsBeforeFirst` counts
 * rows no block covers. For tests that race writers and then check the counters held. Stripes
 * (PostgreSQL) are added to their blocks, as a list read adds them.
 */
export async function secretsBlockCounts(db: Kysely<Database>) {
  const rows = await db
    .selectFrom('secrets')
    .select(['tag', 'created_at', 'id'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  // PostgreSQL's writers count in stripes until settled: a block counts its own and theirs, read
  // in one statement (a settling pass between two reads would move counts from one to the other).
  const { rows: blocks } = await sql<{ first_created_at: string; first_id: string; row_count: number }>`
    select block.first_created_at, block.first_id,
           block.row_count + coalesce((select sum(stripe.row_count) from page_block_stripes as stripe
             where stripe.list = block.list and stripe.first_created_at = block.first_created_at
               and stripe.first_id = block.first_id), 0) as row_count
    from page_blocks as block where block.list = 'secrets'
    order by block.first_created_at, block.first_id`.execute(db);
  /** Whether a row's sort key comes before a block's first key. */
  const isBefore = (row: (typeof rows)[number], block: (typeof blocks)[number]) =>
    row.created_at < block.first_created_at ||
    (row.created_at === block.first_created_at && row.id < block.first_id);
  const miscounted = blocks
    .map((block, i) => {
      const following = blocks[i + 1];
      const inRange = rows.filter(
        (row) => !isBefore(row, block) && (following === undefined || isBefore(row, following)),
      ).length;
      return { first: block.first_id, counted: Number(block.row_count), inRange };
    })
    .filter((block) => block.counted !== block.inRange);
  const first = blocks[0];
  const rowsBeforeFirst = first === undefined ? 0 : rows.filter((row) => isBefore(row, first)).length;
  return { rows, blocks, miscounted, rowsBeforeFirst };
}
