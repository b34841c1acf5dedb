import { open, seal } from '../../crypto/aes-gcm.js';
import { type MasterKey, masterKeyFrom, verifierOf, verifies } from '../../crypto/master-key.js';
import type { Store } from '../../db/database.js';
import { lockWithinTransaction } from '../../db/locks.js';
import * as repo from './keyring.repository.js';
import type { MasterKeyRow } from './keyring.table.js';

/** Start-up refuses to go on: the message names the problem, never the key. */
export class KeyringError extends Error {
  override name = 'KeyringError';
}

const linkAad = (keyId: string) => `tessera:master-key-link:${keyId}`;

/** Seals `key` under `by`, for the rotation link of `key`'s row. */
export function linkFor(key: MasterKey, by: MasterKey) {
  const sealed = seal(by.key, key.key, linkAad(key.id));
  return { by: by.id, iv: sealed.iv, data: sealed.data };
}

/**
 * Every master key reachable from the keys already held, following rotation links. Retired keys
 * are left out: nothing depends on them.
 */
export function reachableKeys(
  rows: readonly MasterKeyRow[],
  held: readonly MasterKey[],
): Map<string, MasterKey> {
  const known = new Map(held.map((k) => [k.id, k]));
  let grew = true;
  while (grew) {
    grew = false;
    for (const row of rows) {
      if (known.has(row.key_id) || row.link_by === null || row.link_iv === null || row.link_data === null) {
        continue;
      }
      const by = known.get(row.link_by);
      if (by === undefined) continue;
      const key = masterKeyFrom(open(by.key, { iv: row.link_iv, data: row.link_data }, linkAad(row.key_id)));
      if (key.id !== row.key_id || !verifies(key, row.verifier)) continue;
      known.set(key.id, key);
      grew = true;
    }
  }
  for (const row of rows) if (row.state === 'retired') known.delete(row.key_id);
  return known;
}

export interface Keyring {
  /** The key new values are wrapped under. */
  active(): MasterKey;
  /** A key by id, reloading the table once if it is not known yet (a rotation may have begun). */
  get(id: string): Promise<MasterKey | undefined>;
  /** Re-reads the table: picks up a rotation's new key or a new active key. */
  refresh(): Promise<void>;
  /** Stops background refreshing. */
  close(): void;
}

export interface OpenKeyringOptions {
  store: Store;
  /** The configured key; `undefined` when none was configured and none could be generated. */
  configured: MasterKey | undefined;
  /** How to describe the configured key's origin in errors: "TESSERA_MASTER_KEY", a file, ... */
  source: string;
  /** How often running nodes re-read the table to follow a rotation. 0: never. */
  refreshIntervalMs?: number;
  now?: () => Date;
  warn?: (message: string) => void;
}

/**
 * Checks the configured master key against the stored data and fails closed: a missing, wrong or
 * retired key stops start-up with one line, and nothing is written.
 */
export async function openKeyring(options: OpenKeyringOptions): Promise<Keyring> {
  const { store, source } = options;
  const now = options.now ?? (() => new Date());
  let rows = await repo.listMasterKeys(store.db);
  const configured = options.configured;
  if (configured === undefined) {
    throw new KeyringError(
      rows.length === 0
        ? `no master key: set TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE`
        : `no master key: ${source} is missing; restore it from your backup or set TESSERA_MASTER_KEY`,
    );
  }

  if (rows.length === 0) {
    // Several nodes may start at once on an empty database: the first to take the lock records
    // its key; the others then find a record and are checked against it like any later start.
    await store.db.transaction().execute(async (trx) => {
      await lockWithinTransaction(trx, store.dialect, 'keyring');
      if ((await repo.listMasterKeys(trx)).length > 0) return;
      if ((await repo.countSecretVersions(trx)) > 0) {
        throw new KeyringError(
          'the database holds encrypted values but no master key record; refusing to start',
        );
      }
      await repo.insertMasterKey(trx, {
        key_id: configured.id,
        verifier: verifierOf(configured),
        state: 'active',
        link_by: null,
        link_iv: null,
        link_data: null,
        created_at: now().toISOString(),
      });
    });
    rows = await repo.listMasterKeys(store.db);
  }

  const activeId = rows.find((r) => r.state === 'active')?.key_id;
  const own = rows.find((r) => r.key_id === configured.id);
  if (own === undefined || !verifies(configured, own.verifier)) {
    throw new KeyringError(
      `the master key from ${source} does not match this data (it was encrypted under key id ${activeId ?? 'unknown'})`,
    );
  }
  if (own.state === 'retired') {
    throw new KeyringError(
      `the master key from ${source} (key id ${own.key_id}) was retired by a rotation; configure the current key (key id ${activeId})`,
    );
  }

  let keys = reachableKeys(rows, [configured]);
  let active = activeId === undefined ? undefined : keys.get(activeId);
  if (active === undefined) {
    throw new KeyringError(`the active master key (key id ${activeId}) cannot be reached from ${source}`);
  }
  if (own.state !== 'active') {
    options.warn?.(
      `the master key from ${source} is being rotated out (key id ${own.key_id}); configure key id ${active.id} before the rotation ends`,
    );
  }

  async function refresh() {
    const latest = await repo.listMasterKeys(store.db);
    const reachable = reachableKeys(latest, [...keys.values()]);
    const latestActive = latest.find((r) => r.state === 'active')?.key_id;
    const nextActive = latestActive === undefined ? undefined : reachable.get(latestActive);
    // Keep what we had if the table is mid-change or the new key is out of reach.
    if (nextActive === undefined) return;
    keys = reachable;
    active = nextActive;
  }

  const interval = options.refreshIntervalMs ?? 0;
  const timer =
    interval > 0
      ? setInterval(() => {
          refresh().catch((error: unknown) => options.warn?.(`master key refresh failed: ${String(error)}`));
        }, interval)
      : undefined;
  timer?.unref();

  return {
    active: () => active as MasterKey,
    async get(id) {
      if (!keys.has(id)) await refresh();
      return keys.get(id);
    },
    refresh,
    close() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
