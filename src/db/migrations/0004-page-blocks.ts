import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';
import { rebuildPageBlocks } from '../listing/page-blocks.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * Page blocks: each listed table's rows, in list order, cut into consecutive blocks, with each
 * block's first sort key and its row count. `total` becomes a sum over about N/1000 rows instead
 * of a count over N, and any page starts from its block's first key instead of an OFFSET from the
 * start (see src/db/listing/page-blocks.ts).
 */
export function migration0004PageBlocks(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('page_blocks')
        .addColumn('list', 'varchar(32)', (c) => c.notNull())
        .addColumn('first_created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('first_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('row_count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('page_blocks_pk', ['list', 'first_created_at', 'first_id'])
        .execute();
      // Rows that exist already (the schema's own code builds them, so there is one definition),
      // for the tables and keys listed when this migration was written.
      await rebuildPageBlocks(db, { table: 'api_keys', key: 'cid', createdAt: 'created_at' });
      await rebuildPageBlocks(db, { table: 'secrets', key: 'id', createdAt: 'created_at' });
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('page_blocks').execute();
    },
  };
}
