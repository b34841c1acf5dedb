import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * Custom roles, and which keys hold them. A key's `roles` column stays the list the API shows;
 * `api_key_roles` repeats its custom tags so that the database itself refuses deleting a role a
 * key holds (the foreign key), and a role's holders are found through an index, not by parsing
 * every key's roles.
 */
export function migration0006Roles(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('roles')
        .addColumn('tag', 'varchar(100)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(1024)', (c) => c.notNull())
        .addColumn('description', 'text')
        // JSON array of permissions, and of tag patterns (NULL: every secret).
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('secret_tags', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('roles_created_order').on('roles').columns(['created_at', 'tag']).execute();

      await db.schema
        .createTable('api_key_roles')
        .addColumn('cid', 'varchar(32)', (c) => c.notNull().references('api_keys.cid').onDelete('cascade'))
        .addColumn('tag', 'varchar(100)', (c) => c.notNull().references('roles.tag'))
        .addPrimaryKeyConstraint('api_key_roles_pk', ['cid', 'tag'])
        .execute();
      await db.schema.createIndex('api_key_roles_tag').on('api_key_roles').column('tag').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('api_key_roles').execute();
      await db.schema.dropTable('roles').execute();
    },
  };
}
