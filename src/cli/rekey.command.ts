import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, ConfigError, masterKeyFromEnv } from '../config.js';
import { masterKeyFrom } from '../crypto/master-key.js';
import { connect } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { MASTER_KEY_FILE_NAME, resolveMasterKey } from '../features/keyring/master-key-source.js';
import { rekey } from '../features/keyring/rekey.js';

/**
 * `tessera rekey`: rotates the master key while the service keeps serving. Interrupting it
 * (Ctrl-C) stops between batches; running it again with the same keys resumes.
 */
export async function runRekey(config: Config, options: { batchSize: number; graceSeconds: number }) {
  const configuredNext = masterKeyFromEnv(process.env, 'TESSERA_NEW_MASTER_KEY');
  if (configuredNext === undefined) {
    throw new ConfigError('set TESSERA_NEW_MASTER_KEY or TESSERA_NEW_MASTER_KEY_FILE to the new master key');
  }
  const next = masterKeyFrom(configuredNext.key);
  const store = await connect(config);
  const controller = new AbortController();
  const onSignal = () => {
    process.stderr.write('\ninterrupted: stopping after this batch; run `tessera rekey` again to resume\n');
    controller.abort(new Error('interrupted; run `tessera rekey` again with the same keys to resume'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await migrateToLatest(store.db, store.dialect);
    const current = await resolveMasterKey(config.masterKey, store, config.dataDir);
    if (current.key === undefined)
      throw new ConfigError(`no current master key: ${current.source} is not set`);
    // On the embedded default the key lives in the data folder. It takes the new key as soon as
    // that key is active, before re-wrapping: a crash after that point restarts on the new key.
    const keyFile =
      config.masterKey === undefined && store.dialect === 'sqlite'
        ? join(config.dataDir, MASTER_KEY_FILE_NAME)
        : undefined;
    const result = await rekey({
      store,
      current: current.key,
      next,
      onActive: () => {
        if (keyFile === undefined) return;
        writeFileSync(`${keyFile}.new`, `${configuredNext.key.toString('base64')}\n`, { mode: 0o600 });
        renameSync(`${keyFile}.new`, keyFile);
        process.stderr.write(`rekey: ${keyFile} now holds the new master key\n`);
      },
      batchSize: options.batchSize,
      graceMs: options.graceSeconds * 1000,
      signal: controller.signal,
      onProgress: (p) => process.stderr.write(`rekey: ${p.message}\n`),
    });
    if (keyFile === undefined) {
      process.stderr.write(
        `rekey: configure the new key (key id ${next.id}) as TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE on every node; the old key no longer starts the service\n`,
      );
    }
    process.stdout.write(`${JSON.stringify({ activeKeyId: next.id, rewrapped: result.rewrapped })}\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await store.close();
  }
}
