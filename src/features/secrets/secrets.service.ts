import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { generateId } from '../../crypto/ids.js';
import type { Store } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Caller } from '../../domain/caller.js';
import { ConflictError, ForbiddenError, InvalidInputError, violation } from '../../domain/errors.js';
import type { ScopedPermission } from '../../domain/grants.js';
import { offsetOf, type Page, type PageInfo, type PageQuery, pageInfo } from '../../domain/page.js';
import { andThen, type MaybePromise } from '../../runtime/maybe-promise.js';
import { type AuditLog, keyActor } from '../audit/audit.log.js';
import type { Keyring } from '../keyring/keyring.js';
import { type ChangeFeedQuery, createSecretChangeFeed, type RecordedChange } from './secret-change-feed.js';
import { createSecretLookup, type SecretCaches, secretNotFound } from './secret-lookup.js';
import { listScopeOf, requireCreatableTag, requireReach, scopeOf } from './secret-scope.js';
import { createSecretValues, versionRow } from './secret-values.js';
import { type Secret, type SecretVersionInfo, toSecret, toVersionInfo } from './secrets.mapping.js';
import type { SealedCurrent } from './secrets.repository.js';
import * as repo from './secrets.repository.js';
import { checkBulkReveal, checkCreate, checkUpdate, requireSameTag } from './secrets.rules.js';
import {
  BULK_REVEAL_MAX,
  type BulkRevealInput,
  type CreateSecretInput,
  type UpdateSecretInput,
} from './secrets.schemas.js';
import type { SecretRow } from './secrets.table.js';

export interface SecretServiceDeps {
  store: Store;
  keyring: Keyring;
  now: () => Date;
  versionsKept: number;
  audit: AuditLog;
  revealEnabled: boolean;
  /** What this node keeps of secrets in memory (see createSecretCaches); none: every look-up reads storage. */
  cache?: SecretCaches | undefined;
  /** Where every secret change is announced (the caches' bus), for the change feed's waiters; none: they poll. */
  bus?: ChangeNoticeBus | undefined;
}

/** How often an update whose version number another update took tries the next one. */
const WRITE_ATTEMPTS = 3;

/**
 * Secrets' operations: each checks its input (secrets.rules.ts), finds the secret
 * (secret-lookup.ts), seals or opens values (secret-values.ts) and writes through the audit log.
 */
export function createSecretService(deps: SecretServiceDeps) {
  const { store, now, audit } = deps;
  const { db } = store;
  const lookup = createSecretLookup(db, deps.cache);
  const feed = createSecretChangeFeed({ store, bus: deps.bus, sealed: () => audit.sealed() });
  const values = createSecretValues({
    store,
    keyring: deps.keyring,
    audit,
    versionsKept: deps.versionsKept,
    versions: deps.cache?.versions,
  });

  /**
   * The secret a path names, if the caller's grants reach it (secret-scope.ts). The look-up below
   * answers a cache hit at once, and so does this: a cached read costs the service method's own
   * promise and no more. A refusal is a throw then, a rejection after a storage read; every caller
   * awaits it inside an async method, where both reject that method (maybe-promise.ts).
   */
  function reachable(caller: Caller, permission: ScopedPermission, tagOrId: string): MaybePromise<SecretRow> {
    return andThen(lookup.resolve(tagOrId), (secret) => {
      requireReach(caller, permission, secret, tagOrId);
      return secret;
    });
  }

  function requireRevealOn(): void {
    if (!deps.revealEnabled) {
      throw new ForbiddenError(
        'Revealing secret values is turned off on this server (TESSERA_SECRET_REVEAL=false)',
      );
    }
  }

  /**
   * What lets a value leave: one READ event per value, all in one audited transaction, written
   * after decrypting (no crypto inside a transaction) and before anything is answered. An event
   * that cannot be written fails the reveal (503) and no value is returned.
   */
  async function recordReads(caller: Caller, revealed: readonly RevealedValue[]): Promise<void> {
    await audit.recordAlone(
      revealed.map(({ tag, version }) => ({
        actor: keyActor(caller),
        action: 'READ',
        objectType: 'SECRET',
        objectId: tag,
        detail: `value version ${version}`,
      })),
    );
  }

  /**
   * Every tag must name a secret the caller may reveal; the first that does not is refused as the
   * single reveal refuses it (404 when it is missing or beyond every scope of the key, alike).
   */
  async function sealedByTags(caller: Caller, tags: readonly string[]): Promise<SealedCurrent[]> {
    const rows = await repo.sealedCurrentByTags(db, tags);
    const byTag = new Map(rows.map((row) => [row.tag, row]));
    for (const tag of tags) {
      const row = byTag.get(tag);
      if (row === undefined) throw secretNotFound(tag);
      requireReach(caller, 'READ_SECRET_VALUES', row, tag);
    }
    return rows;
  }

  /** Only what the caller's READ_SECRET_VALUES reaches matches; past the bound, a 400, never a cut. */
  async function sealedByPrefix(caller: Caller, prefix: string): Promise<SealedCurrent[]> {
    const scope = scopeOf(caller, 'READ_SECRET_VALUES');
    const rows = await repo.sealedCurrentMatching(
      db,
      store.dialect,
      scope === undefined ? [[`${prefix}*`]] : [[`${prefix}*`], scope],
      BULK_REVEAL_MAX + 1,
    );
    if (rows.length > BULK_REVEAL_MAX) {
      const detail = `More than ${BULK_REVEAL_MAX} secrets match the prefix '${prefix}': narrow it, or name the tags`;
      throw new InvalidInputError(detail, [violation('/body/tagPrefix', detail)]);
    }
    return rows;
  }

  return {
    /** The secrets the caller's CREATE_SECRETS reaches; `total` counts only those. */
    async list(caller: Caller, query: PageQuery): Promise<Page<Secret>> {
      return repo.listSecrets(db, store.dialect, query, listScopeOf(caller));
    },

    async get(caller: Caller, tagOrId: string): Promise<Secret> {
      return toSecret(await reachable(caller, 'CREATE_SECRETS', tagOrId));
    },

    /** A secret whatever any key may reach: for naming it in an audit record, never for an answer. */
    async find(tagOrId: string): Promise<Secret> {
      return toSecret(await lookup.resolve(tagOrId));
    },

    async create(caller: Caller, input: CreateSecretInput): Promise<Secret> {
      const { name } = checkCreate(input);
      requireCreatableTag(caller, input.tag);
      const id = generateId('se');
      const at = now().toISOString();
      const row: SecretRow = { id, tag: input.tag, name, current_version: 1, created_at: at, updated_at: at };
      try {
        await values.write(
          input.secret,
          id,
          async () => 1,
          async (trx, envelope, version, record) => {
            await repo.insertSecret(trx, store.dialect, row);
            await repo.insertSecretVersion(trx, versionRow(id, version, envelope, caller.cid, at));
            await feed.record(
              trx,
              record,
              { actor: keyActor(caller), action: 'CREATE', objectType: 'SECRET', objectId: row.tag },
              { secret_id: id, tag: row.tag, version, action: 'CREATE', value_changed: 1, changed_at: at },
            );
          },
        );
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new ConflictError('Secret already exists', `A secret with tag '${input.tag}' already exists`);
        }
        throw error;
      }
      // No cache holds a secret that did not exist, but the change feed's waiters on every node
      // wake on this notice.
      await lookup.changed(id);
      return toSecret(row);
    },

    async update(caller: Caller, tagOrId: string, input: UpdateSecretInput): Promise<Secret> {
      const { name } = checkUpdate(input);
      const current = await reachable(caller, 'CREATE_SECRETS', tagOrId);
      requireSameTag(current.tag, input.tag);
      const at = now().toISOString();
      const secretValue = input.secret;
      const updated = {
        actor: keyActor(caller),
        action: 'UPDATE',
        objectType: 'SECRET',
        objectId: current.tag,
      } as const;
      // `current` was read before the transaction (perhaps from the cache): each write below
      // re-checks inside it that the row still exists, and a change that finds it gone is a 404
      // with no event, never a success recorded after the delete.
      if (secretValue === undefined) {
        const renamed = await audit.run(async (trx, record) => {
          const row = await repo.updateSecret(trx, current, { name: name as string, updated_at: at });
          if (row === undefined) throw secretNotFound(tagOrId);
          await feed.record(trx, record, { ...updated, detail: 'name' }, changeOf(row, 0, at));
          return row;
        });
        await lookup.changed(current.id);
        return toSecret(renamed);
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const written = await values.write(
            secretValue,
            current.id,
            async () =>
              ((await repo.findSecretById(db, current.id))?.current_version ?? current.current_version) + 1,
            async (trx, envelope, version, record) => {
              // The row before its versions, as a delete takes them (see deleteSecret).
              const row = await repo.updateSecret(trx, current, {
                current_version: version,
                updated_at: at,
                ...(name === undefined ? {} : { name }),
              });
              if (row === undefined) throw secretNotFound(tagOrId);
              await repo.insertSecretVersion(trx, versionRow(current.id, version, envelope, caller.cid, at));
              await repo.pruneSecretVersions(trx, current.id, version, deps.versionsKept);
              await feed.record(
                trx,
                record,
                { ...updated, detail: `value version ${version}` },
                changeOf(row, 1, at),
              );
              return row;
            },
          );
          await lookup.changed(current.id);
          return toSecret(written);
        } catch (error) {
          // Two updates raced for the same version number: the loser takes the next one.
          if (!isUniqueViolation(error) || attempt >= WRITE_ATTEMPTS) throw error;
        }
      }
    },

    async delete(caller: Caller, tagOrId: string): Promise<void> {
      const current = await reachable(caller, 'CREATE_SECRETS', tagOrId);
      const at = now().toISOString();
      await audit.run(async (trx, record) => {
        // Another delete may have committed since `current` was read: then this one is a 404.
        if (!(await repo.deleteSecret(trx, store.dialect, current.id))) throw secretNotFound(tagOrId);
        await feed.record(
          trx,
          record,
          { actor: keyActor(caller), action: 'DELETE', objectType: 'SECRET', objectId: current.tag },
          // The version the caller's look-up found current: a delete reads no row back.
          { ...changeOf(current, 0, at), action: 'DELETE' },
        );
      });
      await lookup.changed(current.id);
    },

    async versions(
      caller: Caller,
      tagOrId: string,
      query: PageQuery,
    ): Promise<{ versions: SecretVersionInfo[] } & PageInfo> {
      const secret = await reachable(caller, 'CREATE_SECRETS', tagOrId);
      const rows = await audit.run(async (trx, record) => {
        await record({
          actor: keyActor(caller),
          action: 'READ',
          objectType: 'SECRET',
          objectId: secret.tag,
          detail: 'versions',
        });
        return repo.listSecretVersions(trx, secret.id);
      });
      const page = rows.slice(offsetOf(query), offsetOf(query) + query.pageSize);
      return {
        versions: page.map((r) => toVersionInfo(r, secret.current_version)),
        ...pageInfo(query, rows.length),
      };
    },

    /** The change feed, narrowed to the secrets the caller may see (secret-change-feed.ts). */
    changes(caller: Caller, query: ChangeFeedQuery, signal?: AbortSignal) {
      return feed.changes(caller, query, signal);
    },

    /** The server is stopping: waiting polls of the change feed answer now. */
    close(): void {
      feed.close();
    },

    /** Whether the server is stopping (close() was called). */
    closing(): boolean {
      return feed.closed();
    },

    /** Decrypts a value. Recorded before it is returned: no audit record, no value. */
    async reveal(caller: Caller, tagOrId: string, version?: number): Promise<RevealedValue> {
      requireRevealOn();
      const secret = await reachable(caller, 'READ_SECRET_VALUES', tagOrId);
      const wanted = version ?? secret.current_version;
      const value = await values.reveal(secret.id, wanted, tagOrId);
      const revealed = { id: secret.id, tag: secret.tag, version: wanted, value };
      await recordReads(caller, [revealed]);
      return revealed;
    },

    /**
     * The current values of the secrets named by their tags, or of every secret whose tag starts
     * with a prefix that the caller's READ_SECRET_VALUES reaches, ordered by tag. Each is recorded
     * as the single reveal records one, before any is returned.
     */
    async revealMany(caller: Caller, input: BulkRevealInput): Promise<{ values: RevealedValue[] }> {
      requireRevealOn();
      const wanted = checkBulkReveal(input);
      const sealed =
        wanted.tags !== undefined
          ? await sealedByTags(caller, wanted.tags)
          : await sealedByPrefix(caller, wanted.tagPrefix);
      // By code unit, the same on both dialects (a PostgreSQL collation may order otherwise).
      sealed.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
      const opened = await values.open(sealed);
      const revealed = sealed.map((row, i) => ({
        id: row.secret_id,
        tag: row.tag,
        version: row.version,
        value: opened[i] as string,
      }));
      await recordReads(caller, revealed);
      return { values: revealed };
    },
  };
}

/** An update's change row: the version the secret has once it commits. */
function changeOf(
  row: Pick<SecretRow, 'id' | 'tag' | 'current_version'>,
  valueChanged: 0 | 1,
  at: string,
): RecordedChange {
  return {
    secret_id: row.id,
    tag: row.tag,
    version: row.current_version,
    action: 'UPDATE',
    value_changed: valueChanged,
    changed_at: at,
  };
}

/** A value as a reveal answers it. */
export interface RevealedValue {
  id: string;
  tag: string;
  version: number;
  value: string;
}

export type SecretService = ReturnType<typeof createSecretService>;
