import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * PostgreSQL's concurrent block counts (src/db/listing/block-stripes.ts): a row added to or
 * removed from a list adds +1 or -1 to one of a few stripes of its block, so that concurrent
 * writers on any node do not wait for each other on one counter; a block's count is its
 * `page_blocks.row_count` plus its stripes', until a settling pass folds them in. SQLite counts in
 * `page_blocks` directly (one writer), so there the table stays empty.
 */
export function migration0012PageBlockStripes(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('page_block_stripes')
        .addColumn('list', 'varchar(32)', (c) => c.notNull())
        .addColumn('first_created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('first_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('stripe', 'integer', (c) => c.notNull())
        .addColumn('row_count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('page_block_stripes_pk', ['list', 'first_created_at', 'first_id', 'stripe'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('page_block_stripes').execute();
    },
  };
}
