import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * The IP allowlist: its entries in the order they were given, numbered from 0 (`position`). The
 * list is only ever replaced whole, so the positions are always 0 to n − 1 and the listing counts
 * them by arithmetic (src/features/ip-allowlist/ip-allowlist.listing.ts). Addresses are kept as
 * sent; no table row at all means every address is allowed.
 */
export function migration0007IpAllowlist(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('ip_allowlist')
        .addColumn('position', 'integer', (c) => c.primaryKey())
        .addColumn('address', 'varchar(64)', (c) => c.notNull())
        .addColumn('description', 'text')
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('ip_allowlist').execute();
    },
  };
}
