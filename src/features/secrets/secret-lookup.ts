import type { Kysely } from 'kysely';
import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../cluster/invalidated-cache.js';
import { looksLikeId } from '../../crypto/ids.js';
import type { Database } from '../../db/database.js';
import { NotFoundError } from '../../domain/errors.js';
import type { MaybePromise } from '../../runtime/maybe-promise.js';
import * as repo from './secrets.repository.js';
import type { SecretRow, SecretVersionRow } from './secrets.table.js';

/** A node's caches of secrets, dropped by the same change notices (a secret's id). */
export interface SecretCaches {
  /** Secret rows by the tag or id they were asked for. */
  rows: InvalidatedCache<SecretRow>;
  /**
   * Sealed versions by secret id and version, for reveals: ciphertext and wrapped data key, as
   * storage holds them. Never a value, never an unwrapped key: every reveal still decrypts.
   */
  versions: InvalidatedCache<SecretVersionRow>;
}

/**
 * Dropped by notices on the same bus as key changes, by secret id. Entries live at most 10 s:
 * during a rolling upgrade, nodes of the previous release change secrets without announcing it.
 * The version cache's 4,096 entries hold small values only (see secret-values.ts).
 */
export function createSecretCaches(
  bus: ChangeNoticeBus,
  /** Each cache's look-up counter, by the cache's name (the metrics). */
  lookupsOf?: (cache: 'secret-rows' | 'secret-versions') => ((hit: boolean) => void) | undefined,
): SecretCaches {
  return {
    rows: new InvalidatedCache<SecretRow>(bus, {
      ownerOf: (row) => row.id,
      onLookup: lookupsOf?.('secret-rows'),
      maxEntries: 10_000,
      ttlMs: 10_000,
    }),
    versions: new InvalidatedCache<SecretVersionRow>(bus, {
      ownerOf: (row) => row.secret_id,
      onLookup: lookupsOf?.('secret-versions'),
      maxEntries: 4_096,
      ttlMs: 10_000,
    }),
  };
}

/** The 404 of a path naming no secret, or one a delete removed while the change was under way. */
export function secretNotFound(tagOrId: string): NotFoundError {
  return new NotFoundError('Secret not found', `No secret with tag or id '${tagOrId}'`);
}

/** Finds the secret a path names, through this node's row cache, and drops what a change made stale. */
export function createSecretLookup(db: Kysely<Database>, caches: SecretCaches | undefined) {
  const rows = caches?.rows;

  async function load(tagOrId: string): Promise<SecretRow> {
    const ticket = rows?.ticket();
    const row = looksLikeId('se', tagOrId)
      ? await repo.findSecretById(db, tagOrId)
      : await repo.findSecretByTag(db, tagOrId);
    if (row === undefined) throw secretNotFound(tagOrId);
    Object.freeze(row);
    if (ticket !== undefined) rows?.set(tagOrId, row, ticket);
    return row;
  }

  return {
    /**
     * The secret a path names (SPEC §5: an id first, then a tag; tags can never look like ids),
     * from the cache when it holds it, at once (no promise: see maybe-promise.ts). The row is
     * shared and frozen: never altered.
     */
    resolve(tagOrId: string): MaybePromise<SecretRow> {
      return rows?.get(tagOrId) ?? load(tagOrId);
    },

    /**
     * After a change to a secret (a create included) has committed: every node drops what it
     * cached of it, and the change feed's waiting polls wake (secret-change-feed.ts).
     */
    async changed(id: string): Promise<void> {
      // One notice drops both caches' entries on the other nodes; this node drops its own now.
      caches?.versions.dropOwner(id);
      await rows?.invalidate(id);
    },
  };
}
