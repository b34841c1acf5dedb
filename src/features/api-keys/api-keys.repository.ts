import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { ApiKeyRow, NewApiKeyRow } from './api-keys.table.js';

/** Queries only: no rules, no mapping. `db` may be a transaction. */
type Db = Kysely<Database>;

export async function insertApiKey(db: Db, row: NewApiKeyRow): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
}

export async function findApiKeyByCid(db: Db, cid: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('cid', '=', cid).executeTakeFirst();
}

export async function findApiKeyByTokenHash(db: Db, tokenHash: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Oldest first, then by cid: a stable order, so paging never skips or repeats. */
export async function listApiKeys(db: Db, offset: number, limit: number): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .orderBy('created_at')
    .orderBy('cid')
    .offset(offset)
    .limit(limit)
    .execute();
}

export async function countApiKeys(db: Db): Promise<number> {
  const { count } = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** Keys holding ADMIN that are still valid at `now`, other than `exceptCid`. */
export async function countOtherActiveAdmins(db: Db, exceptCid: string, now: string): Promise<number> {
  const { count } = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('is_admin', '=', 1)
    .where('cid', '!=', exceptCid)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(count);
}

export async function updateApiKey(
  db: Db,
  cid: string,
  changes: { name: string; description?: string | null },
): Promise<void> {
  await db.updateTable('api_keys').set(changes).where('cid', '=', cid).execute();
}

export async function deleteApiKey(db: Db, cid: string): Promise<void> {
  await db.deleteFrom('api_keys').where('cid', '=', cid).execute();
}
