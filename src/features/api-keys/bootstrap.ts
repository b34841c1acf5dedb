import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { generateToken } from '../../crypto/tokens.js';
import type { ApiKeyService } from './api-keys.service.js';

export const BOOTSTRAP_FILE_NAME = 'bootstrap-admin.key';

/**
 * SPEC §8: on a store with no keys at all, create one ADMIN key named `bootstrap`. Its token is
 * TESSERA_BOOTSTRAP_TOKEN when set; otherwise a fresh one written to the data folder (mode 0600).
 * The log names the file, never the token.
 */
export async function ensureBootstrapKey(
  service: ApiKeyService,
  options: {
    dataDir: string;
    token: string | undefined;
    log: FastifyBaseLogger;
  },
): Promise<void> {
  const token = options.token ?? generateToken();
  const key = await service.bootstrap(token);
  if (key === undefined) return;
  if (options.token !== undefined) {
    options.log.info({ cid: key.cid }, 'created the bootstrap ADMIN key from TESSERA_BOOTSTRAP_TOKEN');
    return;
  }
  const file = join(options.dataDir, BOOTSTRAP_FILE_NAME);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created: a stale file left from before keeps its own.
  chmodSync(file, 0o600);
  options.log.info(
    { cid: key.cid, file },
    `created the bootstrap ADMIN key; its token is in ${file} (read it, store it safely, delete the file)`,
  );
}
