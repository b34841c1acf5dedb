import type { Kysely } from 'kysely';
import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../cluster/invalidated-cache.js';
import { DecryptionError } from '../../crypto/aes-gcm.js';
import { decryptValue, type Envelope, encryptValue } from '../../crypto/envelope.js';
import { generateId, looksLikeId } from '../../crypto/ids.js';
import type { Database, Store } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import { offsetOf, type Page, type PageInfo, type PageQuery, pageInfo } from '../../domain/page.js';
import type { Principal, RequestInfo } from '../../http/access.js';
import { trimmedName } from '../../http/display-name.js';
import {
  AppError,
  badRequest,
  conflict,
  notFound,
  throwIfViolations,
  type Violation,
  violation,
} from '../../http/errors.js';
import { andThen, type MaybePromise } from '../../runtime/maybe-promise.js';
import { type AuditLog, keyActor, type RecordEvent } from '../audit/audit.log.js';
import type { Keyring } from '../keyring/keyring.js';
import { activeMasterKeyIdInWrite } from '../keyring/keyring.repository.js';
import { toSecret } from './secrets.mapping.js';
import * as repo from './secrets.repository.js';
import {
  type CreateSecretInput,
  SECRET_MAX_BYTES,
  SECRET_NAME_MAX,
  type UpdateSecretInput,
} from './secrets.schemas.js';
import type { SecretRow, SecretVersionRow } from './secrets.table.js';

/** A secret as Cortex shows it: never its value. */
export interface Secret {
  id: string;
  name: string;
  tag: string;
}

export interface SecretVersionInfo {
  version: number;
  createdDate: string;
  createdBy: string | null;
  current: boolean;
}

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
 * The largest value, in bytes of UTF-8, whose version a node keeps in its version cache. With at
 * most 4,096 entries the cache holds about 16 MiB of ciphertext at most; versions of larger values
 * are read from storage at each reveal.
 */
const CACHED_VALUE_MAX_BYTES = 4_096;

/**
 * Dropped by notices on the same bus as key changes, by secret id. Entries live at most 10 s:
 * during a rolling upgrade, nodes of the previous release change secrets without announcing it.
 */
export function createSecretCaches(bus: ChangeNoticeBus): SecretCaches {
  return {
    rows: new InvalidatedCache<SecretRow>(bus, {
      ownerOf: (row) => row.id,
      maxEntries: 10_000,
      ttlMs: 10_000,
    }),
    versions: new InvalidatedCache<SecretVersionRow>(bus, {
      ownerOf: (row) => row.secret_id,
      maxEntries: 4_096,
      ttlMs: 10_000,
    }),
  };
}

/** A caller as services receive it: the key, and where the request came from when over HTTP. */
type Caller = Principal & Partial<RequestInfo>;

/** A rotation changed the active master key between encrypting and writing: encrypt again. */
class StaleMasterKey extends Error {}
const WRITE_ATTEMPTS = 3;

function checkValue(value: string, violations: Violation[]) {
  if (Buffer.byteLength(value, 'utf8') > SECRET_MAX_BYTES) {
    violations.push(violation('/body/secret', `'secret' must be at most ${SECRET_MAX_BYTES} bytes of UTF-8`));
  }
}

/** The 404 of a path naming no secret, or one a delete removed while the change was under way. */
function secretNotFound(tagOrId: string): AppError {
  return notFound('Secret not found', `No secret with tag or id '${tagOrId}'`);
}

export function createSecretService(deps: SecretServiceDeps) {
  const { store, keyring, now, audit } = deps;
  const { db } = store;
  const cache = deps.cache?.rows;
  const versions = deps.cache?.versions;

  /**
   * Inside a write transaction: the envelope must be wrapped under the key that is active now
   * (the keyring's repository holds a rotation off until the write commits).
   */
  async function assertActiveKey(trx: Kysely<Database>, envelope: Envelope) {
    if ((await activeMasterKeyIdInWrite(trx, store.dialect)) !== envelope.masterKeyId)
      throw new StaleMasterKey();
  }

  /** Encrypts outside the transaction (no crypto while holding locks), retrying if a rotation intervenes. */
  async function writeWithEnvelope<T>(
    plaintext: string,
    secretId: string,
    version: () => Promise<number>,
    write: (trx: Kysely<Database>, envelope: Envelope, version: number, record: RecordEvent) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const v = await version();
      const envelope = encryptValue(keyring.active(), plaintext, secretId, v);
      try {
        return await audit.run(async (trx, record) => {
          await assertActiveKey(trx, envelope);
          return write(trx, envelope, v, record);
        });
      } catch (error) {
        if (!(error instanceof StaleMasterKey) || attempt >= WRITE_ATTEMPTS) throw error;
        await keyring.refresh();
      }
    }
  }

  function versionRow(
    secretId: string,
    version: number,
    envelope: Envelope,
    caller: Caller,
    at: string,
  ): SecretVersionRow {
    return {
      secret_id: secretId,
      version,
      value_iv: envelope.value.iv,
      value_data: envelope.value.data,
      dek_iv: envelope.wrappedKey.iv,
      dek_data: envelope.wrappedKey.data,
      master_key_id: envelope.masterKeyId,
      created_at: at,
      created_by: caller.cid,
    };
  }

  /**
   * The secret a path names (SPEC §5: an id first, then a tag; tags can never look like ids),
   * at once from the cache when it holds it. The row is shared and frozen: never altered.
   */
  function resolve(tagOrId: string): MaybePromise<SecretRow> {
    return cache?.get(tagOrId) ?? load(tagOrId);
  }

  async function load(tagOrId: string): Promise<SecretRow> {
    const ticket = cache?.ticket();
    const row = looksLikeId('se', tagOrId)
      ? await repo.findSecretById(db, tagOrId)
      : await repo.findSecretByTag(db, tagOrId);
    if (row === undefined) throw secretNotFound(tagOrId);
    Object.freeze(row);
    if (ticket !== undefined) cache?.set(tagOrId, row, ticket);
    return row;
  }

  /** After a change to a secret has committed: every node drops what it cached of it. */
  async function changed(id: string): Promise<void> {
    // One notice drops both caches' entries on the other nodes; this node drops its own now.
    versions?.dropOwner(id);
    await cache?.invalidate(id);
  }

  /**
   * A version's value, decrypted. The sealed row comes from the version cache when it holds it.
   * A cached row that no longer opens is read again, once: a rotation re-wraps data keys in
   * storage without a notice, then retires the master key the cached row was wrapped under.
   */
  async function revealVersion(secretId: string, version: number, tagOrId: string): Promise<string> {
    const key = `${secretId}/${version}`;
    const cached = versions?.get(key);
    if (cached !== undefined) {
      try {
        return await decrypt(cached);
      } catch {
        versions?.delete(key);
      }
    }
    const ticket = versions?.ticket();
    const row = await repo.findSecretVersion(db, secretId, version);
    if (row === undefined) {
      throw notFound(
        'Secret version not found',
        `Secret '${tagOrId}' has no version ${version} (the newest ${deps.versionsKept} are kept)`,
      );
    }
    const value = await decrypt(row);
    if (ticket !== undefined && Buffer.byteLength(value, 'utf8') <= CACHED_VALUE_MAX_BYTES) {
      versions?.set(key, Object.freeze(row), ticket);
    }
    return value;
  }

  async function decrypt(row: SecretVersionRow): Promise<string> {
    const master = await keyring.get(row.master_key_id);
    if (master === undefined) {
      throw new Error(`secret version is wrapped under unknown master key ${row.master_key_id}`);
    }
    const envelope: Envelope = {
      value: { iv: row.value_iv, data: row.value_data },
      wrappedKey: { iv: row.dek_iv, data: row.dek_data },
      masterKeyId: row.master_key_id,
    };
    try {
      return decryptValue(master, envelope, row.secret_id, row.version);
    } catch (error) {
      // Tampered or moved ciphertext: an error, never garbage. The 500 says nothing more.
      if (error instanceof DecryptionError) {
        throw new Error(`secret ${row.secret_id} version ${row.version} failed authentication`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  return {
    resolve,

    async list(query: PageQuery): Promise<Page<Secret>> {
      return repo.listSecrets(db, store.dialect, query);
    },

    /** At once when the secret is cached (the hot path: see maybe-promise.ts). */
    get(tagOrId: string): MaybePromise<Secret> {
      return andThen(resolve(tagOrId), toSecret);
    },

    async create(caller: Caller, input: CreateSecretInput): Promise<Secret> {
      const violations: Violation[] = [];
      const name = trimmedName(input.name, SECRET_NAME_MAX, violations);
      checkValue(input.secret, violations);
      if (looksLikeId('se', input.tag)) {
        violations.push(violation('/body/tag', "'tag' may not look like a secret id (se + 16 hex digits)"));
      }
      throwIfViolations(violations);
      const id = generateId('se');
      const at = now().toISOString();
      const row: SecretRow = { id, tag: input.tag, name, current_version: 1, created_at: at, updated_at: at };
      try {
        await writeWithEnvelope(
          input.secret,
          id,
          async () => 1,
          async (trx, envelope, version, record) => {
            await repo.insertSecret(trx, store.dialect, row);
            await repo.insertSecretVersion(trx, versionRow(id, version, envelope, caller, at));
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
          throw conflict('Secret already exists', `A secret with tag '${input.tag}' already exists`);
        }
        throw error;
      }
      return toSecret(row);
    },

    async update(caller: Caller, tagOrId: string, input: UpdateSecretInput): Promise<Secret> {
      const violations: Violation[] = [];
      if (input.name === undefined && input.secret === undefined) {
        violations.push(violation('/body', "Send 'name', 'secret' or both", 'Missing field'));
      }
      const name =
        input.name === undefined ? undefined : trimmedName(input.name, SECRET_NAME_MAX, violations);
      if (input.secret !== undefined) checkValue(input.secret, violations);
      throwIfViolations(violations);
      const current = await resolve(tagOrId);
      if (input.tag !== undefined && input.tag !== current.tag) {
        throw badRequest('Tags cannot change', [
          violation('/body/tag', `'tag' cannot change (it is '${current.tag}')`),
        ]);
      }
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
        await changed(current.id);
        return toSecret(renamed);
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const written = await writeWithEnvelope(
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
              await repo.insertSecretVersion(trx, versionRow(current.id, version, envelope, caller, at));
              await repo.pruneSecretVersions(trx, current.id, version, deps.versionsKept);
              await record({ ...updated, detail: `value version ${version}` });
              return row;
            },
          );
          await changed(current.id);
          return toSecret(written);
        } catch (error) {
          // Two updates raced for the same version number: the loser takes the next one.
          if (!isUniqueViolation(error) || attempt >= WRITE_ATTEMPTS) throw error;
        }
      }
    },

    async delete(caller: Caller, tagOrId: string): Promise<void> {
      const current = await resolve(tagOrId);
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
      await changed(current.id);
    },

    async versions(
      caller: Caller,
      tagOrId: string,
      query: PageQuery,
    ): Promise<{ versions: SecretVersionInfo[] } & PageInfo> {
      const secret = await resolve(tagOrId);
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
        versions: page.map((r) => ({
          version: r.version,
          createdDate: r.created_at,
          createdBy: r.created_by,
          current: r.version === secret.current_version,
        })),
        ...pageInfo(query, rows.length),
      };
    },

    /** Decrypts a value. Recorded before it is returned: no audit record, no value. */
    async reveal(caller: Caller, tagOrId: string, version?: number) {
      if (!deps.revealEnabled) {
        throw new AppError(
          'FORBIDDEN',
          'Access denied',
          'Revealing secret values is turned off on this server (TESSERA_SECRET_REVEAL=false)',
        );
      }
      const secret = await resolve(tagOrId);
      const wanted = version ?? secret.current_version;
      const value = await revealVersion(secret.id, wanted, tagOrId);
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
