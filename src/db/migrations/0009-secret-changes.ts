import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * The secrets change feed: one row per create, update or delete of a secret, keyed by the `seq`
 * of the audit event written in the same transaction. Sequence numbers are assigned under the
 * audit chain's lock, held to the commit, so they follow the commit order: a reader that has seen
 * row N never later finds a row below N committed (an auto-increment id would not promise that on
 * PostgreSQL, where transactions commit out of id order). Pruned with the audit events
 * (audit.retention.ts). `value_changed` is 0 or 1.
 */
export function migration0009SecretChanges(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('secret_changes')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('secret_id', 'varchar(18)', (c) => c.notNull())
        .addColumn('tag', 'varchar(100)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('value_changed', 'integer', (c) => c.notNull())
        .addColumn('changed_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('secret_changes').execute();
    },
  };
}
