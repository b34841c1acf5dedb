import { type Kysely, sql } from 'kysely';
import { compiledInsert, compiledOnce } from '../../db/compiled-once.js';
import type { Database, Dialect } from '../../db/database.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { secretsListing } from './secrets.listing.js';
import type { Secret } from './secrets.mapping.js';
import type { SecretRow, SecretVersionRow } from './secrets.table.js';

type Db = Kysely<Database>;

// A create writes a version, and a reveal reads one: compiled once (src/db/compiled-once.ts). The
// secret's row goes through its listing, which compiles its insert once too.
const insertVersionRow = compiledInsert('secret_versions', {
  secret_id: true,
  version: true,
  value_iv: true,
  value_data: true,
  dek_iv: true,
  dek_data: true,
  master_key_id: true,
  created_at: true,
  created_by: true,
});
const versionOf = compiledOnce((db, secretId: string, version: number) =>
  db
    .selectFrom('secret_versions')
    .selectAll()
    .where('secret_id', '=', secretId)
    .where('version', '=', version),
);

/** Inserts a secret's row and lists it (its list item and its count: secrets.listing.ts). */
export async function insertSecret(db: Db, dialect: Dialect, row: SecretRow): Promise<void> {
  await secretsListing.insert(db, dialect, row);
}

export async function insertSecretVersion(db: Db, row: SecretVersionRow): Promise<void> {
  await insertVersionRow(db, row);
}

// Every read of a secret starts with one of these two: compiled once (src/db/compiled-once.ts).
const secretById = compiledOnce((db, id: string) =>
  db.selectFrom('secrets').selectAll().where('id', '=', id),
);
const secretByTag = compiledOnce((db, tag: string) =>
  db.selectFrom('secrets').selectAll().where('tag', '=', tag),
);

export async function findSecretById(db: Db, id: string): Promise<SecretRow | undefined> {
  return (await secretById(db, id))[0];
}

export async function findSecretByTag(db: Db, tag: string): Promise<SecretRow | undefined> {
  return (await secretByTag(db, tag))[0];
}

/**
 * A page of secrets; with `tagPatterns`, of those whose tag matches one of them only (`*`: any
 * run of characters), counted exactly (see tagMatchesAny).
 */
export async function listSecrets(
  db: Db,
  dialect: Dialect,
  query: PageQuery,
  tagPatterns?: readonly string[],
): Promise<Page<Secret>> {
  if (tagPatterns === undefined) return secretsListing.page(db, dialect, query);
  return secretsListing.page(db, dialect, query, (list) => list.where(tagMatchesAny(dialect, tagPatterns)));
}

/**
 * Whether a secret's tag matches one of these tag patterns (`*`: any run of characters; none:
 * false). Tag patterns hold letters, digits, `-`, `_` and `*`, so on SQLite they are GLOB patterns
 * as they are (case-sensitive, unlike its LIKE); on PostgreSQL a LIKE pattern once `_` is escaped
 * and `*` is `%`.
 */
export function tagMatchesAny(dialect: Dialect, patterns: readonly string[]) {
  const matches = patterns.map((pattern) =>
    dialect === 'sqlite'
      ? sql<boolean>`tag glob ${pattern}`
      : sql<boolean>`tag like ${pattern.replaceAll('_', '\\_').replaceAll('*', '%')}`,
  );
  return matches.length === 0 ? sql<boolean>`1 = 0` : sql<boolean>`(${sql.join(matches, sql` or `)})`;
}

/** A secret's tag and its current version, sealed as storage holds it. */
export type SealedCurrent = SecretVersionRow & { tag: string };

/**
 * Secrets with their current versions' sealed rows, read in one statement, so each row's version
 * is the one its secret named current at that instant (one snapshot on both dialects).
 */
function sealedCurrent(db: Db) {
  return db
    .selectFrom('secrets')
    .innerJoin('secret_versions', (join) =>
      join
        .onRef('secret_versions.secret_id', '=', 'secrets.id')
        .onRef('secret_versions.version', '=', 'secrets.current_version'),
    )
    .select('secrets.tag')
    .selectAll('secret_versions');
}

/** The secrets with these tags (those that exist), with their current versions. */
export async function sealedCurrentByTags(db: Db, tags: readonly string[]): Promise<SealedCurrent[]> {
  if (tags.length === 0) return [];
  return sealedCurrent(db).where('secrets.tag', 'in', tags).execute();
}

/**
 * At most `limit` secrets whose tags match every one of `patternSets` (each: one of its patterns),
 * with their current versions, in no particular order.
 */
export async function sealedCurrentMatching(
  db: Db,
  dialect: Dialect,
  patternSets: readonly (readonly string[])[],
  limit: number,
): Promise<SealedCurrent[]> {
  let query = sealedCurrent(db);
  for (const patterns of patternSets) query = query.where(tagMatchesAny(dialect, patterns));
  return query.limit(limit).execute();
}

/**
 * Changes a secret's row and returns what it shows now; undefined when no such row exists (any
 * more: a delete committed since the caller read it). On PostgreSQL the row stays locked to the
 * commit, so a delete waits for this change instead of racing it. `current` is the secret as the
 * caller read it: a new name's list item is rendered from it (its id and tag never change).
 */
export async function updateSecret(
  db: Db,
  current: Pick<SecretRow, 'id' | 'name' | 'tag' | 'created_at'>,
  changes: Partial<Pick<SecretRow, 'current_version' | 'updated_at' | 'name'>>,
): Promise<Pick<SecretRow, 'id' | 'name' | 'tag' | 'current_version'> | undefined> {
  return db
    .updateTable('secrets')
    .set(secretsListing.withItem(current, changes))
    .where('id', '=', current.id)
    .returning(['id', 'name', 'tag', 'current_version'])
    .executeTakeFirst();
}

/** Deletes a secret and its versions; false when no such row exists (any more). */
export async function deleteSecret(db: Db, dialect: Dialect, id: string): Promise<boolean> {
  // The secret's row first, as an update locks it first: two writers of one secret then lock its
  // rows in the same order and never wait on each other in a circle. Its versions go with it
  // (ON DELETE CASCADE); deleting them here too keeps that true without foreign keys.
  const deleted = await secretsListing.delete(db, dialect, id);
  await db.deleteFrom('secret_versions').where('secret_id', '=', id).execute();
  return deleted;
}

export async function findSecretVersion(
  db: Db,
  secretId: string,
  version: number,
): Promise<SecretVersionRow | undefined> {
  return (await versionOf(db, secretId, version))[0];
}

export async function listSecretVersions(
  db: Db,
  secretId: string,
): Promise<Pick<SecretVersionRow, 'version' | 'created_at' | 'created_by'>[]> {
  return db
    .selectFrom('secret_versions')
    .select(['version', 'created_at', 'created_by'])
    .where('secret_id', '=', secretId)
    .orderBy('version')
    .execute();
}

/** Drops versions older than the newest `keep`. */
export async function pruneSecretVersions(db: Db, secretId: string, newest: number, keep: number) {
  await db
    .deleteFrom('secret_versions')
    .where('secret_id', '=', secretId)
    .where('version', '<=', newest - keep)
    .execute();
}

/** A batch of versions whose data key is still wrapped under `masterKeyId` (for rotation). */
export async function versionsWrappedBy(db: Db, masterKeyId: string, limit: number) {
  return db
    .selectFrom('secret_versions')
    .select(['secret_id', 'version', 'dek_iv', 'dek_data'])
    .where('master_key_id', '=', masterKeyId)
    .limit(limit)
    .execute();
}

/** Replaces one version's wrapped data key, only if it is still wrapped under `fromKeyId`. */
export async function rewrapSecretVersion(
  db: Db,
  row: { secret_id: string; version: number },
  fromKeyId: string,
  to: { keyId: string; iv: Buffer; data: Buffer },
): Promise<void> {
  await db
    .updateTable('secret_versions')
    .set({ dek_iv: to.iv, dek_data: to.data, master_key_id: to.keyId })
    .where('secret_id', '=', row.secret_id)
    .where('version', '=', row.version)
    .where('master_key_id', '=', fromKeyId)
    .execute();
}
