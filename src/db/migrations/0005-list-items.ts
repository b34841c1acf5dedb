import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations stay frozen in time, whatever the Database type becomes
type AnyDb = Kysely<any>;

/** Each listed table, its key, and the columns its list items show (src/db/listing/json-page.ts). */
const LISTED = [
  {
    table: 'api_keys',
    key: 'cid',
    shown: ['cid', 'name', 'description', 'created_at', 'expires_at', 'last4', 'roles'],
  },
  { table: 'secrets', key: 'id', shown: ['id', 'name', 'tag', 'created_at'] },
] as const;

/**
 * `list_item`: each key's and secret's item as a list page writes it, rendered when the row is
 * written, so that a page is the rows' texts joined (src/db/listing/json-page.ts). Rows written before
 * this migration keep NULL and are rendered when read, as before: nothing is rewritten here, so
 * the migration takes no time whatever the data size.
 *
 * A trigger keeps a stale text from ever being listed: an update that changes a shown column
 * without writing `list_item` too sets it to NULL, and the row is rendered when read again.
 */
export function migration0005ListItems(dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      if (dialect === 'postgres') {
        await sql`
          create function tessera_list_item_stale() returns trigger language plpgsql as $$
          begin
            new.list_item := null;
            return new;
          end $$`.execute(db);
      }
      for (const { table, key, shown } of LISTED) {
        await db.schema.alterTable(table).addColumn('list_item', 'text').execute();
        // SQLite spells IS DISTINCT FROM as IS NOT.
        const differs = dialect === 'sqlite' ? sql`is not` : sql`is distinct from`;
        const changed = sql.join(
          shown.map((column) => sql`new.${sql.ref(column)} ${differs} old.${sql.ref(column)}`),
          sql` or `,
        );
        const trigger = sql.ref(`${table}_list_item_stale`);
        const columns = sql.join(shown.map((column) => sql.ref(column)));
        if (dialect === 'sqlite') {
          await sql`
            create trigger ${trigger} after update of ${columns} on ${sql.table(table)}
            for each row when new.list_item is old.list_item and (${changed})
            begin
              update ${sql.table(table)} set list_item = null where ${sql.ref(key)} = new.${sql.ref(key)};
            end`.execute(db);
        } else {
          await sql`
            create trigger ${trigger} before update of ${columns} on ${sql.table(table)}
            for each row when (new.list_item is not distinct from old.list_item and (${changed}))
            execute function tessera_list_item_stale()`.execute(db);
        }
      }
    },
    async down(db: AnyDb) {
      for (const { table } of LISTED) {
        await sql`drop trigger if exists ${sql.ref(`${table}_list_item_stale`)}${
          dialect === 'postgres' ? sql` on ${sql.table(table)}` : sql``
        }`.execute(db);
        await db.schema.alterTable(table).dropColumn('list_item').execute();
      }
      if (dialect === 'postgres') await sql`drop function if exists tessera_list_item_stale()`.execute(db);
    },
  };
}
