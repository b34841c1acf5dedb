import type { Kysely } from 'kysely';
import { compiledOnce } from '../../db/compiled-once.js';
import type { Database, Dialect } from '../../db/database.js';
import { type JsonItem, type JsonPage, type PageRows, readJsonPage } from '../../db/json-page.js';
import { countDelete, countInsert } from '../../db/page-blocks.js';
import type { ApiKeyRow, ListedApiKeyRow, NewApiKeyRow } from './api-keys.table.js';

/** Queries only: no rules, no mapping. `db` may be a transaction. */
type Db = Kysely<Database>;

export async function insertApiKey(db: Db, dialect: Dialect, row: NewApiKeyRow): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
  await countInsert(db, dialect, 'api_keys', { createdAt: row.created_at, id: row.cid });
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

/** A page's rows in list order (oldest first, then by cid: stable, so paging never skips or repeats). */
const pageRows: PageRows<ListedApiKeyRow> = (db, createdAt, id, skip, limit) =>
  db
    .selectFrom('api_keys')
    // What the API shows, no more: a page of 250 does not carry 250 token hashes.
    .select(['cid', 'name', 'description', 'last4', 'roles', 'created_at', 'expires_at', 'list_item'])
    .where((eb) => eb(eb.refTuple('created_at', 'cid'), '>=', eb.tuple(createdAt, id)))
    .orderBy('created_at')
    .orderBy('cid')
    .offset(skip)
    .limit(limit);

export async function listApiKeys(
  db: Db,
  dialect: Dialect,
  offset: number,
  limit: number,
  item: JsonItem<ListedApiKeyRow>,
): Promise<JsonPage> {
  return readJsonPage(db, dialect, 'api_keys', offset, limit, pageRows, item);
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

/** Changes a key's name and description; false when no such row exists (any more). */
export async function updateApiKey(
  db: Db,
  cid: string,
  changes: { name: string; description?: string | null; list_item: string },
): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('api_keys')
    .set(changes)
    .where('cid', '=', cid)
    .executeTakeFirstOrThrow();
  return numUpdatedRows === 1n;
}

/** Deletes a key; false when no such row exists (any more: another delete committed first). */
export async function deleteApiKey(db: Db, dialect: Dialect, cid: string): Promise<boolean> {
  const deleted = await db
    .deleteFrom('api_keys')
    .where('cid', '=', cid)
    .returning('created_at')
    .executeTakeFirst();
  if (deleted === undefined) return false;
  await countDelete(db, dialect, 'api_keys', { createdAt: deleted.created_at, id: cid });
  return true;
}
