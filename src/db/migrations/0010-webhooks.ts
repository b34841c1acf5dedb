import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/**
 * Webhooks, their outbox, and the expiry reminders already sent.
 * - `webhooks`: an endpoint, the events it takes (JSON array) and its signing secret, sealed like
 *   a secret value (envelope encryption: the data key wrapped under `master_key_id`).
 * - `webhook_deliveries`: one row per event per subscribed webhook, written in the transaction of
 *   the change (the outbox), then leased by one node at a time (`lease_until`, `leased_by`)
 *   until it is delivered or given up. Deleted with its webhook.
 * - `webhook_reminders`: which expiry reminder was sent for which key, unique per (cid, kind), so
 *   that every node may scan and each reminder is still written once.
 */
export function migration0010Webhooks(dialect: Dialect): Migration {
  const binary = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('url', 'varchar(2048)', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('secret_iv', binary, (c) => c.notNull())
        .addColumn('secret_data', binary, (c) => c.notNull())
        .addColumn('dek_iv', binary, (c) => c.notNull())
        .addColumn('dek_data', binary, (c) => c.notNull())
        .addColumn('master_key_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhooks_created_order')
        .on('webhooks')
        .columns(['created_at', 'id'])
        .execute();
      await db.schema.createIndex('webhooks_master_key').on('webhooks').column('master_key_id').execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('webhook_id', 'varchar(32)', (c) =>
          c.notNull().references('webhooks.id').onDelete('cascade'),
        )
        .addColumn('event_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('event_type', 'varchar(32)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('lease_until', 'varchar(32)')
        .addColumn('leased_by', 'varchar(64)')
        .addColumn('response_status', 'integer')
        .addColumn('last_error', 'varchar(256)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('attempted_at', 'varchar(32)')
        .execute();
      // What the delivery loop looks for: pending rows by when they are due.
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_of_webhook')
        .on('webhook_deliveries')
        .columns(['webhook_id', 'created_at', 'id'])
        .execute();

      await db.schema
        .createTable('webhook_reminders')
        .addColumn('cid', 'varchar(32)', (c) => c.notNull().references('api_keys.cid').onDelete('cascade'))
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('sent_at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_reminders_pk', ['cid', 'kind'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('webhook_reminders').execute();
      await db.schema.dropTable('webhook_deliveries').execute();
      await db.schema.dropTable('webhooks').execute();
    },
  };
}
