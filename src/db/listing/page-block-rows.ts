import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

/** A row's place in its list: its creation time, then its key. */
export interface SortKey {
  createdAt: string;
  id: string;
}

/** A block's key in `page_blocks`: its list and its first row's sort key. */
export interface BlockStart {
  first_created_at: string;
  first_id: string;
}

/** Removes one block (page-blocks.ts at its last row, block-stripes.ts when it splits one). */
export async function deleteBlock(db: Kysely<Database>, list: string, block: BlockStart): Promise<void> {
  await db
    .deleteFrom('page_blocks')
    .where('list', '=', list)
    .where('first_created_at', '=', block.first_created_at)
    .where('first_id', '=', block.first_id)
    .execute();
}
