import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * Audit events written but not yet chained (PostgreSQL: audit.sealer.ts). A change's transaction
 * inserts its events here, without waiting for any lock; the sealer moves them, in `id` order and
 * in batches, into `audit_events`, where they take their `seq` and hash. The columns are the
 * event's own, as `audit_events` has them. SQLite chains each event as it is written, so there the
 * table stays empty (it exists on both so that the schema does not depend on the dialect).
 */
export function migration0011AuditPending(dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('audit_pending')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('occurred_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('actor_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('actor_id', 'varchar(64)')
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('object_type', 'varchar(32)', (c) => c.notNull())
        .addColumn('object_id', 'varchar(256)')
        .addColumn('ip', 'varchar(64)')
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('request_id', 'varchar(64)')
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('detail', 'varchar(256)')
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('audit_pending').execute();
    },
  };
}
