import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfiguredMasterKey } from '../../config.js';
import {
  decodeMasterKey,
  generateMasterKey,
  type MasterKey,
  masterKeyFrom,
} from '../../crypto/master-key.js';
import type { Store } from '../../db/database.js';
import { readKeyFile } from '../../runtime/key-file.js';
import { KeyringError } from './keyring.js';
import { listMasterKeys } from './keyring.repository.js';

export const MASTER_KEY_FILE_NAME = 'master.key';

export interface ResolvedMasterKey {
  key: MasterKey | undefined;
  source: string;
  generated: boolean;
}

/**
 * Where the master key comes from: the environment when configured; otherwise, on the embedded
 * default only, `<data dir>/master.key`, generated (mode 0600) when the store has never had a
 * key, and refused when its mode lets group or others read it. A store that has had one never gets a fresh key silently: that would strand its data.
 */
export async function resolveMasterKey(
  configured: ConfiguredMasterKey | undefined,
  store: Store,
  dataDir: string,
): Promise<ResolvedMasterKey> {
  if (configured !== undefined) {
    return { key: masterKeyFrom(configured.key), source: configured.source, generated: false };
  }
  if (store.dialect !== 'sqlite') {
    return { key: undefined, source: 'TESSERA_MASTER_KEY', generated: false };
  }
  const file = join(dataDir, MASTER_KEY_FILE_NAME);
  if (existsSync(file)) {
    // Refused when group or others may read it, as a configured key file is (see key-file.ts).
    const key = decodeMasterKey(readKeyFile(file));
    if (key === undefined) throw new KeyringError(`${file} must hold base64 of exactly 32 bytes`);
    return { key: masterKeyFrom(key), source: file, generated: false };
  }
  if ((await listMasterKeys(store.db)).length > 0) return { key: undefined, source: file, generated: false };
  const key = generateMasterKey();
  // 'wx': never overwrite a key file another process has just written.
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { key: masterKeyFrom(key), source: file, generated: true };
}
