import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/** The columns an API key's list item shows from here on: 0005's, and the three added here. */
const SHOWN = [
  'cid',
  'name',
  'description',
  'created_at',
  'expires_at',
  'last4',
  'roles',
  'allowed_ips',
  'rate_limit_per_minute',
  'last_used_at',
] as const;

/**
 * Per-key extras: where a key may call from, its own rate limit, when it was last used, and the
 * token a roll replaced, kept for its grace period.
 *
 * - `allowed_ips`: JSON array of addresses and CIDR ranges; NULL: anywhere.
 * - `rate_limit_per_minute`: NULL: the server's default.
 * - `last_used_at`: ISO 8601 UTC, written in batches (api-keys/last-used.ts), never moved back.
 * - `previous_token_hash`, `previous_token_expires_at`: the SHA-256 of the token the last roll
 *   replaced and when it stops working; both NULL when no grace runs. Looked up by hash when a
 *   token is not a key's current one, hence the index.
 *
 * The list items show the first three, so the list-item trigger of 0005 is re-created over the new
 * shown columns and every stored item is cleared (rendered when read, and again by the backfill at
 * start). `last_used_at` is among them on purpose: the batched flush writes it alone, the trigger
 * clears the row's item, and the row is rendered when listed, which is always right. Rendering the
 * item in the flush instead would read every flushed row back to write a text that the next flush
 * replaces; a list page of recently used keys costs a little more to render (json_object on SQLite),
 * which is the trade.
 */
/** 0005's list-item trigger on api_keys, over `shown`; tessera_list_item_stale() is 0005's. */
async function createListItemTrigger(db: AnyDb, dialect: Dialect, shown: readonly string[]) {
  const trigger = sql.ref('api_keys_list_item_stale');
  await sql`drop trigger if exists ${trigger}${
    dialect === 'postgres' ? sql` on ${sql.table('api_keys')}` : sql``
  }`.execute(db);
  // SQLite spells IS DISTINCT FROM as IS NOT.
  const differs = dialect === 'sqlite' ? sql`is not` : sql`is distinct from`;
  const changed = sql.join(
    shown.map((column) => sql`new.${sql.ref(column)} ${differs} old.${sql.ref(column)}`),
    sql` or `,
  );
  const columns = sql.join(shown.map((column) => sql.ref(column)));
  if (dialect === 'sqlite') {
    await sql`
      create trigger ${trigger} after update of ${columns} on ${sql.table('api_keys')}
      for each row when new.list_item is old.list_item and (${changed})
      begin
        update ${sql.table('api_keys')} set list_item = null where ${sql.ref('cid')} = new.${sql.ref('cid')};
      end`.execute(db);
  } else {
    await sql`
      create trigger ${trigger} before update of ${columns} on ${sql.table('api_keys')}
      for each row when (new.list_item is not distinct from old.list_item and (${changed}))
      execute function tessera_list_item_stale()`.execute(db);
  }
}

const ADDED = [
  'allowed_ips',
  'rate_limit_per_minute',
  'last_used_at',
  'previous_token_hash',
  'previous_token_expires_at',
] as const;

export function migration0008ApiKeyExtras(dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('api_keys').addColumn('allowed_ips', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('rate_limit_per_minute', 'integer').execute();
      await db.schema.alterTable('api_keys').addColumn('last_used_at', 'varchar(32)').execute();
      await db.schema.alterTable('api_keys').addColumn('previous_token_hash', 'varchar(64)').execute();
      await db.schema.alterTable('api_keys').addColumn('previous_token_expires_at', 'varchar(32)').execute();
      await db.schema
        .createIndex('api_keys_previous_token')
        .on('api_keys')
        .column('previous_token_hash')
        .execute();
      await createListItemTrigger(db, dialect, SHOWN);
      // Every stored text lacks the new fields.
      await db.updateTable('api_keys').set({ list_item: null }).execute();
    },
    async down(db: AnyDb) {
      const before = SHOWN.filter((column) => !(ADDED as readonly string[]).includes(column));
      await createListItemTrigger(db, dialect, before);
      await db.updateTable('api_keys').set({ list_item: null }).execute();
      await db.schema.dropIndex('api_keys_previous_token').execute();
      for (const column of [...ADDED].reverse()) {
        await db.schema.alterTable('api_keys').dropColumn(column).execute();
      }
    },
  };
}
