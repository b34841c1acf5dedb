import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../../db/database.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { rolesListing } from './roles.listing.js';
import type { Role } from './roles.mapping.js';
import type { RoleRow } from './roles.table.js';

/** Queries only: no rules, no mapping. `db` may be a transaction. */
type Db = Kysely<Database>;

export async function insertRole(db: Db, dialect: Dialect, row: RoleRow): Promise<void> {
  await rolesListing.insert(db, dialect, row);
}

export async function listRoles(db: Db, dialect: Dialect, query: PageQuery): Promise<Page<Role>> {
  return rolesListing.page(db, dialect, query);
}

export async function findRole(db: Db, tag: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('tag', '=', tag).executeTakeFirst();
}

/**
 * A role read inside the transaction that changes it: on PostgreSQL locked to the commit, so that
 * two edits, or an edit and a delete, cannot both act on what each read. (SQLite has one writer.)
 */
export async function findRoleToChange(db: Db, dialect: Dialect, tag: string): Promise<RoleRow | undefined> {
  const query = db.selectFrom('roles').selectAll().where('tag', '=', tag);
  return (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
}

/** The roles with these tags (those that exist). */
export async function findRoles(db: Db, tags: readonly string[]): Promise<RoleRow[]> {
  if (tags.length === 0) return [];
  return db
    .selectFrom('roles')
    .selectAll()
    .where('tag', 'in', [...tags])
    .execute();
}

export async function updateRole(
  db: Db,
  tag: string,
  changes: Pick<RoleRow, 'name' | 'description' | 'permissions' | 'secret_tags' | 'updated_at'>,
): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('roles')
    .set(changes)
    .where('tag', '=', tag)
    .executeTakeFirstOrThrow();
  return numUpdatedRows === 1n;
}

export async function deleteRole(db: Db, dialect: Dialect, tag: string): Promise<boolean> {
  return rolesListing.delete(db, dialect, tag);
}

/** How many keys hold the role. */
export async function countHolders(db: Db, tag: string): Promise<number> {
  const { count } = await db
    .selectFrom('api_key_roles')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('tag', '=', tag)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** Records which custom roles a new key holds (the key's row is written first). */
export async function insertKeyRoles(db: Db, cid: string, tags: readonly string[]): Promise<void> {
  if (tags.length === 0) return;
  await db
    .insertInto('api_key_roles')
    .values(tags.map((tag) => ({ cid, tag })))
    .execute();
}
