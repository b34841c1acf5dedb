import type { Kysely } from 'kysely';
import { compiledOnce } from '../../db/compiled-once.js';
import type { Database, Dialect } from '../../db/database.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { apiKeysListing } from './api-keys.listing.js';
import type { ApiKey } from './api-keys.mapping.js';
import type { ApiKeyRow } from './api-keys.table.js';

/** Queries only: no rules, no mapping. `db` may be a transaction. */
type Db = Kysely<Database>;

/** Inserts a key and lists it (its list item and its count: api-keys.listing.ts). */
export async function insertApiKey(db: Db, dialect: Dialect, row: ApiKeyRow): Promise<void> {
  await apiKeysListing.insert(db, dialect, row);
}

// A token the cache does not hold, and every read of a key, start here: compiled once
// (src/db/compiled-once.ts).
const keyByCid = compiledOnce((db, cid: string) =>
  db.selectFrom('api_keys').selectAll().where('cid', '=', cid),
);
const keyByTokenHash = compiledOnce((db, tokenHash: string) =>
  db.selectFrom('api_keys').selectAll().where('token_hash', '=', tokenHash),
);

export async function findApiKeyByCid(db: Db, cid: string): Promise<ApiKeyRow | undefined> {
  return (await keyByCid(db, cid))[0];
}

const keyByCidForUpdate = compiledOnce((db, cid: string) =>
  db.selectFrom('api_keys').selectAll().where('cid', '=', cid).forUpdate(),
);

/**
 * A key read inside the transaction that will change it: on PostgreSQL locked to the commit, so
 * neither a delete nor another update can change it between this read and the write. (SQLite has
 * one writer: nothing else writes while the transaction is open.)
 */
export async function findApiKeyToChange(
  db: Db,
  dialect: Dialect,
  cid: string,
): Promise<ApiKeyRow | undefined> {
  return (await (dialect === 'postgres' ? keyByCidForUpdate : keyByCid)(db, cid))[0];
}

export async function findApiKeyByTokenHash(db: Db, tokenHash: string): Promise<ApiKeyRow | undefined> {
  return (await keyByTokenHash(db, tokenHash))[0];
}

export async function listApiKeys(db: Db, dialect: Dialect, query: PageQuery): Promise<Page<ApiKey>> {
  return apiKeysListing.page(db, dialect, query);
}

export async function hasAnyApiKey(db: Db): Promise<boolean> {
  return (await db.selectFrom('api_keys').select('cid').limit(1).executeTakeFirst()) !== undefined;
}

/** Keys holding ADMIN that are still valid at `validAt`, other than `exceptCid`. */
export async function countOtherActiveAdmins(db: Db, exceptCid: string, validAt: string): Promise<number> {
  const { count } = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('is_admin', '=', 1)
    .where('cid', '!=', exceptCid)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>=', validAt)]))
    .executeTakeFirstOrThrow();
  return Number(count);
}

/**
 * Changes a key's name and description; false when no such row exists (any more). `row` is the
 * key as read in the changing transaction: its list item is rendered from it with the changes.
 */
export async function updateApiKey(
  db: Db,
  row: ApiKeyRow,
  changes: { name: string; description?: string | null },
): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('api_keys')
    .set(apiKeysListing.withItem(row, changes))
    .where('cid', '=', row.cid)
    .executeTakeFirstOrThrow();
  return numUpdatedRows === 1n;
}

/** Deletes a key; false when no such row exists (any more: another delete committed first). */
export async function deleteApiKey(db: Db, dialect: Dialect, cid: string): Promise<boolean> {
  return apiKeysListing.delete(db, dialect, cid);
}
