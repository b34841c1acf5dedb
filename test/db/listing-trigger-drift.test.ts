/**
 * The trigger that NULLs a stale `list_item` lives in a frozen migration, over its own copy of the
 * shown columns; the listing declarations (src/features/listings.ts) are live code. This holds the
 * two together, reading the trigger from the migrated schema itself: a declaration whose shown
 * columns the latest trigger does not cover exactly, or whose item shape is not the one stored
 * texts were rendered with, fails here until a migration re-creates the trigger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../src/db/database.js';
import { LISTINGS } from '../../src/features/listings.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';

const FIX = 'add a migration that re-creates the trigger and sets list_item to NULL';

/**
 * The item shapes the stored texts were rendered with, as of the latest migration that set every
 * `list_item` to NULL (0005, which added them; 0008 for api_keys). Changing a listing's fields changes every text:
 * update this only together with such a migration.
 */
const STORED_SHAPES: Record<string, string[]> = {
  api_keys: [
    'cid←cid',
    'name←name',
    'description←description',
    'createdDate←created_at',
    'expirationDate←expires_at',
    'last4←last4',
    'roles←roles (json)',
    'allowedIps←allowed_ips (json)',
    'rateLimitPerMinute←rate_limit_per_minute',
    'lastUsedDate←last_used_at',
  ],
  secrets: ['id←id', 'name←name', 'tag←tag'],
};

describe(`list-item triggers match the listing declarations (${testDialect()})`, () => {
  let store: Store;
  let close: () => Promise<void>;
  before(async () => {
    ({ store, close } = await openMigratedStore('listing-trigger-drift'));
  });
  after(() => close());

  /** The columns an update of which fires the table's list-item trigger, from the schema. */
  async function triggerColumns(table: string): Promise<string[]> {
    if (store.dialect === 'sqlite') {
      const { rows } = await sql<{ sql: string }>`
        select sql from sqlite_master
        where type = 'trigger' and tbl_name = ${table} and sql like '%list_item%'`.execute(store.db);
      assert.equal(rows.length, 1, `${table}: one list-item trigger; ${FIX}`);
      const columns = /after\s+update\s+of\s+(.+?)\s+on\s/is.exec(rows[0]?.sql ?? '')?.[1];
      assert.ok(columns !== undefined, `${table}: the trigger fires on an update of named columns`);
      return columns.split(',').map((column) => column.trim().replace(/^"|"$/g, ''));
    }
    const { rows } = await sql<{ trigger: string; column: string }>`
      select t.tgname as trigger, a.attname as column
      from pg_trigger t
      join pg_class c on c.oid = t.tgrelid
      join pg_attribute a on a.attrelid = t.tgrelid and a.attnum = any(t.tgattr::int2[])
      where c.relname = ${table} and c.relnamespace = current_schema()::regnamespace
        and not t.tgisinternal and pg_get_triggerdef(t.oid) like '%list_item%'`.execute(store.db);
    assert.equal(new Set(rows.map((row) => row.trigger)).size, 1, `${table}: one list-item trigger; ${FIX}`);
    return rows.map((row) => row.column);
  }

  const stored = LISTINGS.filter((listing) => listing.storesItems);

  test('every listing that keeps item texts is one the migrations know', () => {
    assert.deepEqual(stored.map((listing) => listing.table).sort(), Object.keys(STORED_SHAPES).sort(), FIX);
  });

  for (const listing of stored) {
    test(`${listing.table}: the trigger covers exactly the shown columns`, async () => {
      const covered = new Set(await triggerColumns(listing.table));
      const missing = listing.shownColumns.filter((column) => !covered.has(column));
      assert.deepEqual(
        missing,
        [],
        `${listing.table}: an update of ${missing.join(', ')} would leave a stale list item; ${FIX}`,
      );
      // The trigger may also cover the order's columns (the migration listed created_at); any
      // other column it covers is one an item showed once: its texts are stale.
      const extra = [...covered].filter(
        (column) => !listing.shownColumns.includes(column) && !listing.order.by.includes(column),
      );
      assert.deepEqual(extra, [], `${listing.table}: the item no longer shows ${extra.join(', ')}; ${FIX}`);
    });

    test(`${listing.table}: the item's shape is the one stored texts were rendered with`, () => {
      const shape = listing.fields.map(
        ({ key, column, json }) => `${key}←${column}${json === true ? ' (json)' : ''}`,
      );
      assert.deepEqual(shape, STORED_SHAPES[listing.table], `${listing.table}: ${FIX}`);
    });
  }
});
