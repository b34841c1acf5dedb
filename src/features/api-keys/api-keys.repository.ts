import { type Kysely, sql } from 'kysely';
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
// A key's current token, or the one its last roll replaced (while a grace runs or not: the
// caller judges the grace). Both columns are indexed.
const keyByTokenHash = compiledOnce((db, tokenHash: string) =>
  db
    .selectFrom('api_keys')
    .selectAll()
    .where((eb) => eb.or([eb('token_hash', '=', tokenHash), eb('previous_token_hash', '=', tokenHash)])),
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

/** The key whose current or previous token has this hash. */
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

/** What an update or a roll may change of a key. */
export type ApiKeyChanges = Partial<
  Pick<
    ApiKeyRow,
    | 'name'
    | 'description'
    | 'allowed_ips'
    | 'rate_limit_per_minute'
    | 'token_hash'
    | 'last4'
    | 'previous_token_hash'
    | 'previous_token_expires_at'
  >
>;

/**
 * Changes a key; false when no such row exists (any more). `row` is the key as read in the
 * changing transaction: its list item is rendered from it with the changes.
 */
export async function updateApiKey(db: Db, row: ApiKeyRow, changes: ApiKeyChanges): Promise<boolean> {
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

/** Keys per statement of a last-used flush: two parameters each, well inside both dialects' bounds. */
const LAST_USES_PER_STATEMENT = 250;

/**
 * Moves each key's `last_used_at` forward to the time given, never back: a node that flushes a
 * use older than another node's already stored leaves the newer one. One statement per 250 keys;
 * a key deleted meanwhile is simply not there to update. ISO 8601 UTC texts compare as times.
 */
export async function recordLastUses(db: Db, uses: readonly (readonly [string, string])[]): Promise<void> {
  for (let start = 0; start < uses.length; start += LAST_USES_PER_STATEMENT) {
    const batch = uses.slice(start, start + LAST_USES_PER_STATEMENT);
    const usedAt = sql<string>`case ${sql.ref('cid')} ${sql.join(
      batch.map(([cid, at]) => sql`when ${cid} then ${at}`),
      sql` `,
    )} end`;
    await db
      .updateTable('api_keys')
      .set({ last_used_at: usedAt })
      .where(
        'cid',
        'in',
        batch.map(([cid]) => cid),
      )
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', usedAt)]))
      .execute();
  }
}
