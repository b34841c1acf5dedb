import type { Kysely } from 'kysely';
import type { InvalidatedCache } from '../../cluster/invalidated-cache.js';
import { DecryptionError } from '../../crypto/aes-gcm.js';
import { decryptValue, type Envelope, encryptValue } from '../../crypto/envelope.js';
import type { Database, Store } from '../../db/database.js';
import { NotFoundError } from '../../domain/errors.js';
import type { AuditLog, RecordEvent } from '../audit/audit.log.js';
import type { Keyring } from '../keyring/keyring.js';
import { activeMasterKeyIdInWrite } from '../keyring/keyring.repository.js';
import * as repo from './secrets.repository.js';
import type { SecretVersionRow } from './secrets.table.js';

/**
 * The largest value, in bytes of UTF-8, whose version a node keeps in its version cache. With at
 * most 4,096 entries the cache holds about 16 MiB of ciphertext at most; versions of larger values
 * are read from storage at each reveal.
 */
const CACHED_VALUE_MAX_BYTES = 4_096;

/** A rotation changed the active master key between encrypting and writing: encrypt again. */
class StaleMasterKey extends Error {}
const WRITE_ATTEMPTS = 3;

/** What a sealed value is stored as: one version row. */
export function versionRow(
  secretId: string,
  version: number,
  envelope: Envelope,
  createdBy: string,
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
    created_by: createdBy,
  };
}

export interface SecretValuesDeps {
  store: Store;
  keyring: Keyring;
  audit: AuditLog;
  versionsKept: number;
  /** Sealed versions this node keeps for reveals (see SecretCaches); none: each reveal reads storage. */
  versions?: InvalidatedCache<SecretVersionRow> | undefined;
}

/** Values in and out: sealed before a write's transaction opens, opened at each reveal. */
export function createSecretValues({ store, keyring, audit, versionsKept, versions }: SecretValuesDeps) {
  const { db } = store;

  /**
   * Inside a write transaction: the envelope must be wrapped under the key that is active now
   * (the keyring's repository holds a rotation off until the write commits).
   */
  async function assertActiveKey(trx: Kysely<Database>, envelope: Envelope) {
    if ((await activeMasterKeyIdInWrite(trx, store.dialect)) !== envelope.masterKeyId)
      throw new StaleMasterKey();
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
    /**
     * Encrypts outside the transaction (no crypto while holding locks), then runs `write` in an
     * audited one; encrypts again if a rotation intervened.
     */
    async write<T>(
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
    },

    /**
     * Sealed versions read from storage just now (not through the version cache), decrypted, in
     * their order: for the bulk reveal, which reads them with their secrets in one statement.
     */
    async open(rows: readonly SecretVersionRow[]): Promise<string[]> {
      const opened: string[] = [];
      for (const row of rows) opened.push(await decrypt(row));
      return opened;
    },

    /**
     * A version's value, decrypted. The sealed row comes from the version cache when it holds it.
     * A cached row that no longer opens is read again, once: a rotation re-wraps data keys in
     * storage without a notice, then retires the master key the cached row was wrapped under.
     */
    async reveal(secretId: string, version: number, tagOrId: string): Promise<string> {
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
        throw new NotFoundError(
          'Secret version not found',
          `Secret '${tagOrId}' has no version ${version} (the newest ${versionsKept} are kept)`,
        );
      }
      const value = await decrypt(row);
      if (ticket !== undefined && Buffer.byteLength(value, 'utf8') <= CACHED_VALUE_MAX_BYTES) {
        versions?.set(key, Object.freeze(row), ticket);
      }
      return value;
    },
  };
}
