import { rewrapDataKey } from '../../crypto/envelope.js';
import type { MasterKey } from '../../crypto/master-key.js';
import { verifierOf } from '../../crypto/master-key.js';
import { FORGET_WITHIN_MS, forgetOverwrittenData } from '../../db/connect.js';
import type { Store } from '../../db/database.js';
import { createAuditLog, systemActor } from '../audit/audit.log.js';
import { rewrapSecretVersion, versionsWrappedBy } from '../secrets/secrets.repository.js';
import { SECRET_VERSION as WEBHOOK_SECRET_VERSION } from '../webhooks/webhook-secrets.js';
import {
  countWebhooksWrappedBy,
  rewrapWebhookSecret,
  webhooksWrappedBy,
} from '../webhooks/webhooks.repository.js';
import { KeyringError, linkFor, reachableKeys } from './keyring.js';
import * as repo from './keyring.repository.js';

export interface RekeyProgress {
  phase: 'announce' | 'switch' | 'rewrap' | 'retire' | 'done';
  message: string;
  done?: number;
  total?: number;
}

export interface RekeyOptions {
  store: Store;
  /** A key the data can be reached with now (the configured one). */
  current: MasterKey;
  /** The key to rotate to. */
  next: MasterKey;
  batchSize?: number;
  /** How long running nodes get to learn the new key before the old one's links are erased. */
  graceMs?: number;
  onProgress?: (progress: RekeyProgress) => void;
  /**
   * Called once the new key is active (now or in an earlier, interrupted run), before re-wrapping:
   * from then on the new key alone starts a node, so this is where a key file is swapped.
   */
  onActive?: () => void | Promise<void>;
  /** Stops between batches; running again resumes where it stopped. */
  signal?: AbortSignal;
  now?: () => Date;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/**
 * Master-key rotation, online and resumable. Each step is recorded in `master_keys`, so running
 * again after an interruption carries on from the step it reached:
 *  1. announce: the new key is stored sealed under the active key (and the active key under the
 *     new one), so every node, whichever of the two it was given, can reach both;
 *  2. switch: the new key becomes active, the old one `previous`; nodes write under the new key
 *     from their next write on (a write checks the active key inside its transaction);
 *  3. rewrap: data keys still wrapped under the old key are re-wrapped in batches (values are
 *     not re-encrypted: only their 32-byte data keys): secret versions' and webhook secrets';
 *  4. retire: once none is left, the old key is `retired` and both links are erased, so the old
 *     key can no longer read anything stored from now on.
 */
export async function rekey(options: RekeyOptions): Promise<{ rewrapped: number }> {
  const { store, current, next, signal } = options;
  const { db } = store;
  const batchSize = options.batchSize ?? 500;
  const report = options.onProgress ?? (() => {});
  const now = options.now ?? (() => new Date());
  const check = () => signal?.throwIfAborted();
  const audit = createAuditLog({ store, now });
  const rotation = { actor: systemActor('rekey'), objectType: 'MASTER_KEY' } as const;

  let rows = await repo.listMasterKeys(db);
  const currentRow = rows.find((r) => r.key_id === current.id);
  if (currentRow === undefined || currentRow.state === 'retired') {
    throw new KeyringError('the current master key does not match this data, or was retired');
  }
  if (current.id === next.id && currentRow.state === 'active' && !rows.some((r) => r.state === 'previous')) {
    throw new KeyringError('the new master key is already the active key; nothing to rotate');
  }
  const nextRow = rows.find((r) => r.key_id === next.id);
  if (nextRow?.state === 'retired')
    throw new KeyringError('the new master key was retired before; use a fresh key');
  const pending = rows.find((r) => (r.state === 'next' || r.state === 'previous') && r.key_id !== next.id);
  if (nextRow === undefined && pending !== undefined) {
    throw new KeyringError(
      `another rotation (involving key id ${pending.key_id}) is under way; finish it with its key first`,
    );
  }
  const keys = reachableKeys(rows, [current, next]);
  const active = rows.find((r) => r.state === 'active');
  const activeKey = active === undefined ? undefined : keys.get(active.key_id);
  if (activeKey === undefined)
    throw new KeyringError('the active master key cannot be reached from the current key');

  if (nextRow === undefined) {
    check();
    await db.transaction().execute(async (trx) => {
      await repo.insertMasterKey(trx, {
        key_id: next.id,
        verifier: verifierOf(next),
        state: 'next',
        link_by: null,
        link_iv: null,
        link_data: null,
        created_at: now().toISOString(),
      });
      await repo.setMasterKeyLink(trx, next.id, linkFor(next, activeKey));
      await repo.setMasterKeyLink(trx, activeKey.id, linkFor(activeKey, next));
    });
    report({ phase: 'announce', message: `announced new master key ${next.id}` });
    rows = await repo.listMasterKeys(db);
  }

  if (rows.find((r) => r.key_id === next.id)?.state === 'next') {
    check();
    await audit.run(async (trx, record) => {
      await repo.setMasterKeyState(trx, activeKey.id, 'previous');
      await repo.setMasterKeyState(trx, next.id, 'active');
      await record({
        ...rotation,
        action: 'UPDATE',
        objectId: next.id,
        detail: `active; rotating out ${activeKey.id}`,
      });
    });
    report({
      phase: 'switch',
      message: `master key ${next.id} is now active; ${activeKey.id} is being rotated out`,
    });
    rows = await repo.listMasterKeys(db);
  }

  await options.onActive?.();
  const previous = rows.find((r) => r.state === 'previous');
  let rewrapped = 0;
  if (previous !== undefined) {
    const previousKey = reachableKeys(rows, [current, next]).get(previous.key_id);
    if (previousKey === undefined)
      throw new KeyringError(`key ${previous.key_id} cannot be reached to re-wrap its data`);
    const wrappedBy = async (trx: typeof db, keyId: string) =>
      (await repo.countSecretVersions(trx, keyId)) + (await countWebhooksWrappedBy(trx, keyId));
    const total = await wrappedBy(db, previous.key_id);
    const graceMs = options.graceMs ?? 5000;
    let graced = false;
    for (;;) {
      check();
      // Webhook secrets first: few, and sealed like values (webhook-secrets.ts).
      const webhooks = await webhooksWrappedBy(db, previous.key_id, batchSize);
      if (webhooks.length > 0) {
        const updates = webhooks.map((row) => ({
          row,
          sealed: rewrapDataKey(
            previousKey,
            next,
            { iv: row.dek_iv, data: row.dek_data },
            row.id,
            WEBHOOK_SECRET_VERSION,
          ),
        }));
        await db.transaction().execute(async (trx) => {
          for (const { row, sealed } of updates) {
            await rewrapWebhookSecret(trx, row.id, previous.key_id, {
              keyId: next.id,
              iv: sealed.iv,
              data: sealed.data,
            });
          }
        });
        rewrapped += webhooks.length;
        const shownTotal = Math.max(total, rewrapped);
        report({
          phase: 'rewrap',
          message: `re-wrapped ${rewrapped} of ${shownTotal} data keys`,
          done: rewrapped,
          total: shownTotal,
        });
        continue;
      }
      const batch = await versionsWrappedBy(db, previous.key_id, batchSize);
      if (batch.length > 0) {
        // Crypto first, then one short transaction per batch.
        const updates = batch.map((row) => ({
          row,
          sealed: rewrapDataKey(
            previousKey,
            next,
            { iv: row.dek_iv, data: row.dek_data },
            row.secret_id,
            row.version,
          ),
        }));
        await db.transaction().execute(async (trx) => {
          for (const { row, sealed } of updates) {
            await rewrapSecretVersion(trx, row, previous.key_id, {
              keyId: next.id,
              iv: sealed.iv,
              data: sealed.data,
            });
          }
        });
        rewrapped += batch.length;
        const shownTotal = Math.max(total, rewrapped);
        report({
          phase: 'rewrap',
          message: `re-wrapped ${rewrapped} of ${shownTotal} data keys`,
          done: rewrapped,
          total: shownTotal,
        });
        continue;
      }
      if (!graced) {
        // Running nodes need time to learn the new key before the links between keys disappear.
        report({
          phase: 'retire',
          message: `waiting ${graceMs} ms for running nodes to follow the rotation`,
        });
        await sleep(graceMs, signal);
        graced = true;
        continue;
      }
      // Retire only when nothing is left, checked in the same transaction that retires.
      const retired = await audit.run(async (trx, record) => {
        if ((await wrappedBy(trx, previous.key_id)) > 0) return false;
        await repo.setMasterKeyState(trx, previous.key_id, 'retired');
        await repo.setMasterKeyLink(trx, previous.key_id, null);
        await repo.setMasterKeyLink(trx, next.id, null);
        await record({ ...rotation, action: 'DELETE', objectId: previous.key_id, detail: 'retired' });
        return true;
      });
      if (retired) break;
    }
    // The links just cleared sealed each key under the other: with the retired key, an old copy
    // of a link opens the new key. Push the log into the database (whose freed bytes are zeroed:
    // secure_delete) and empty it, so no copy of the data folder taken from now on holds them.
    const forgotten = await forgetOverwrittenData(store);
    report({
      phase: 'retire',
      message: forgotten
        ? `master key ${previous.key_id} retired`
        : `master key ${previous.key_id} retired; the database log stayed in use by another process for ${FORGET_WITHIN_MS / 1000} s, so old key links may remain in it until the service restarts`,
    });
  }
  report({
    phase: 'done',
    message: `rotation complete: ${rewrapped} data keys re-wrapped; active key ${next.id}`,
  });
  // Its events chained before it ends (PostgreSQL; a running node's sweep would do it too).
  await audit.close();
  return { rewrapped };
}
