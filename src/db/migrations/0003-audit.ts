import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

export function migration0003Audit(_dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      // One row per event, chained: `hash` covers the event and the previous event's hash, so an
      // edit, a removal or a reordering breaks the chain at that point. `seq` has no gaps.
      await db.schema
        .createTable('audit_events')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
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
        .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_time').on('audit_events').column('occurred_at').execute();
      await db.schema.createIndex('audit_events_object').on('audit_events').column('object_id').execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').column('actor_id').execute();

      // Retention removes the oldest events; the last removed event's seq and hash are kept here
      // so the chain stays verifiable from that point on.
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('audit_checkpoints').execute();
      await db.schema.dropTable('audit_events').execute();
    },
  };
}
