import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// Migrations take Kysely<any> so they stay frozen in time, whatever the Database type becomes.
// biome-ignore lint/suspicious/noExplicitAny: see above
type AnyDb = Kysely<any>;

export function migration0001Initial(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('api_keys')
        .addColumn('cid', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        .addColumn('description', 'text')
        // Only the SHA-256 of the token is stored (hex).
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('last4', 'varchar(4)', (c) => c.notNull())
        // JSON array of role references, e.g. [{"type":"DEFAULT","role":"ADMIN"}].
        .addColumn('roles', 'text', (c) => c.notNull())
        // Denormalised from roles so "is this the last admin?" is an indexed count.
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        // ISO 8601 UTC with milliseconds: sorts as text and compares the same on both dialects.
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)')
        .execute();
      await db.schema
        .createIndex('api_keys_created_order')
        .on('api_keys')
        .columns(['created_at', 'cid'])
        .execute();
      await db.schema
        .createIndex('api_keys_admins')
        .on('api_keys')
        .columns(['is_admin', 'expires_at'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('api_keys').execute();
    },
  };
}
