import type { Kysely } from 'kysely';
import { compiledOnce } from '../../db/compiled-once.js';
import type { Database, Dialect } from '../../db/database.js';
import type { MasterKeyRow, MasterKeyState } from './keyring.table.js';

type Db = Kysely<Database>;

export async function listMasterKeys(db: Db): Promise<MasterKeyRow[]> {
  return db.selectFrom('master_keys').selectAll().orderBy('created_at').execute();
}

export async function insertMasterKey(db: Db, row: MasterKeyRow): Promise<void> {
  await db.insertInto('master_keys').values(row).execute();
}

export async function setMasterKeyState(db: Db, keyId: string, state: MasterKeyState): Promise<void> {
  await db.updateTable('master_keys').set({ state }).where('key_id', '=', keyId).execute();
}

export async function setMasterKeyLink(
  db: Db,
  keyId: string,
  link: { by: string; iv: Buffer; data: Buffer } | null,
): Promise<void> {
  await db
    .updateTable('master_keys')
    .set({ link_by: link?.by ?? null, link_iv: link?.iv ?? null, link_data: link?.data ?? null })
    .where('key_id', '=', keyId)
    .execute();
}

// Every write of a value asks: compiled once (src/db/compiled-once.ts), one query per dialect.
const activeKeyIdPlain = compiledOnce((db) =>
  db.selectFrom('master_keys').select('key_id').where('state', '=', 'active'),
);
const activeKeyIdShared = compiledOnce((db) =>
  db.selectFrom('master_keys').select('key_id').where('state', '=', 'active').forShare(),
);

/**
 * The active master key's id, read inside a write that wraps data under it. On PostgreSQL the row
 * is share-locked, so a rotation cannot switch keys until that write commits; SQLite's single
 * writer already excludes one.
 */
export async function activeMasterKeyIdInWrite(trx: Db, dialect: Dialect): Promise<string | undefined> {
  const [row] = await (dialect === 'postgres' ? activeKeyIdShared : activeKeyIdPlain)(trx);
  return row?.key_id;
}

export async function countSecretVersions(db: Db, masterKeyId?: string): Promise<number> {
  let query = db.selectFrom('secret_versions').select((eb) => eb.fn.countAll<number | string>().as('count'));
  if (masterKeyId !== undefined) query = query.where('master_key_id', '=', masterKeyId);
  const { count } = await query.executeTakeFirstOrThrow();
  return Number(count);
}
