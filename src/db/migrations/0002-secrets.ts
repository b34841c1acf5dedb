import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

export function migration0002Secrets(dialect: Dialect): Migration {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: AnyDb) {
      // Master keys by id: never the key, only a verifier, and during a rotation the
      // "link" (this key sealed under the other key of the rotation) that lets nodes holding
      // either key reach both. Links are erased when the rotation retires the old key.
      await db.schema
        .createTable('master_keys')
        .addColumn('key_id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('verifier', 'varchar(64)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('link_by', 'varchar(32)')
        .addColumn('link_iv', bytes)
        .addColumn('link_data', bytes)
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('secrets')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        // A unique index, not a check-then-insert: concurrent creates of one tag cannot both win.
        .addColumn('tag', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        .addColumn('current_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('secrets_created_order')
        .on('secrets')
        .columns(['created_at', 'id'])
        .execute();

      await db.schema
        .createTable('secret_versions')
        .addColumn('secret_id', 'varchar(32)', (c) =>
          c.notNull().references('secrets.id').onDelete('cascade'),
        )
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('value_iv', bytes, (c) => c.notNull())
        .addColumn('value_data', bytes, (c) => c.notNull())
        .addColumn('dek_iv', bytes, (c) => c.notNull())
        .addColumn('dek_data', bytes, (c) => c.notNull())
        .addColumn('master_key_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_by', 'varchar(32)')
        .addPrimaryKeyConstraint('secret_versions_pk', ['secret_id', 'version'])
        .execute();
      // Rotation finds the versions still wrapped under the old key through this index.
      await db.schema
        .createIndex('secret_versions_master_key')
        .on('secret_versions')
        .column('master_key_id')
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('secret_versions').execute();
      await db.schema.dropTable('secrets').execute();
      await db.schema.dropTable('master_keys').execute();
    },
  };
}
