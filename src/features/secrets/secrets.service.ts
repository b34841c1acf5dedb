import { generateId } from '../../crypto/ids.js';
import type { Store } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Caller } from '../../domain/caller.js';
import { ConflictError, ForbiddenError } from '../../domain/errors.js';
import type { ScopedPermission } from '../../domain/grants.js';
import { offsetOf, type Page, type PageInfo, type PageQuery, pageInfo } from '../../domain/page.js';
import { type AuditLog, keyActor } from '../audit/audit.log.js';
import type { Keyring } from '../keyring/keyring.js';
import { createSecretLookup, type SecretCaches, secretNotFound } from './secret-lookup.js';
import { listScopeOf, requireCreatableTag, requireReach } from './secret-scope.js';
import { createSecretValues, versionRow } from './secret-values.js';
import { type Secret, type SecretVersionInfo, toSecret, toVersionInfo } from './secrets.mapping.js';
import * as repo from './secrets.repository.js';
import { checkCreate, checkUpdate, requireSameTag } from './secrets.rules.js';
import type { CreateSecretInput, UpdateSecretInput } from './secrets.schemas.js';
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
  const values = createSecretValues({
    store,
    keyring: deps.keyring,
    audit,
    versionsKept: deps.versionsKept,
    versions: deps.cache?.versions,
  });

  /** The secret a path names, if the caller's grants reach it (secret-scope.ts). */
  async function reachable(
    caller: Caller,
    permission: ScopedPermission,
    tagOrId: string,
  ): Promise<SecretRow> {
    const secret = await lookup.resolve(tagOrId);
    requireReach(caller, permission, secret, tagOrId);
    return secret;
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
            await record({
              actor: keyActor(caller),
              action: 'CREATE',
              objectType: 'SECRET',
              objectId: row.tag,
            });
          },
        );
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new ConflictError('Secret already exists', `A secret with tag '${input.tag}' already exists`);
        }
        throw error;
      }
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
          await record({ ...updated, detail: 'name' });
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
              await record({ ...updated, detail: `value version ${version}` });
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
      await audit.run(async (trx, record) => {
        // Another delete may have committed since `current` was read: then this one is a 404.
        if (!(await repo.deleteSecret(trx, store.dialect, current.id))) throw secretNotFound(tagOrId);
        await record({
          actor: keyActor(caller),
          action: 'DELETE',
          objectType: 'SECRET',
          objectId: current.tag,
        });
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

    /** Decrypts a value. Recorded before it is returned: no audit record, no value. */
    async reveal(caller: Caller, tagOrId: string, version?: number) {
      if (!deps.revealEnabled) {
        throw new ForbiddenError(
          'Revealing secret values is turned off on this server (TESSERA_SECRET_REVEAL=false)',
        );
      }
      const secret = await reachable(caller, 'READ_SECRET_VALUES', tagOrId);
      const wanted = version ?? secret.current_version;
      const value = await values.reveal(secret.id, wanted, tagOrId);
      await audit.run((_trx, record) =>
        record({
          actor: keyActor(caller),
          action: 'READ',
          objectType: 'SECRET',
          objectId: secret.tag,
          detail: `value version ${wanted}`,
        }),
      );
      return { id: secret.id, tag: secret.tag, version: wanted, value };
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
