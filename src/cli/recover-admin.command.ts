import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, ConfigError } from '../config.js';
import { generateToken } from '../crypto/tokens.js';
import { SQLITE_FILE_NAME } from '../db/connect.js';
import { createApiKeyService } from '../features/api-keys/api-keys.service.js';
import { createAuditLog } from '../features/audit/audit.log.js';
import { IP_ALLOWLIST_TTL_MS } from '../features/ip-allowlist/ip-allowlist.gate.js';
import { createIpAllowlistService } from '../features/ip-allowlist/ip-allowlist.service.js';
import { openStorage } from '../server.js';

/**
 * `tessera recover-admin`: the break-glass way back when no ADMIN token works any more. It needs
 * what only the host has: the database (the data folder or DATABASE_URL) and the master key, which
 * opening the keyring checks, so a wrong or missing key creates nothing. The new key is audited as
 * a SYSTEM event; its token is the last line of the output, for `| tail -n 1`.
 *
 * `--clear-ip-allowlist` also empties the IP allowlist first (another SYSTEM event), for the
 * administrator whose own address a forced list shut out. Nothing announces the change to running
 * servers (this process is on no change-notice bus): each reads the list again within its copy's
 * lifetime.
 */
export async function runRecoverAdmin(
  config: Config,
  options: { clearIpAllowlist: boolean } = { clearIpAllowlist: false },
): Promise<number> {
  if (config.databaseUrl === undefined && !existsSync(join(config.dataDir, SQLITE_FILE_NAME))) {
    // Opening would create an empty database, and the service then bootstraps its own first key.
    throw new ConfigError(
      `no database in ${config.dataDir}: set TESSERA_DATA_DIR (or DATABASE_URL) to the service's storage`,
    );
  }
  const { store, keyring } = await openStorage(config, (message) =>
    process.stderr.write(`recover-admin: ${message}\n`),
  );
  try {
    const now = () => new Date();
    const audit = createAuditLog({ store, now });
    if (options.clearIpAllowlist) {
      await createIpAllowlistService({ store, audit }).clear('recover-admin');
      process.stdout.write(
        'Emptied the IP allowlist (every address is allowed again), audited as a SYSTEM event; ' +
          `running servers apply it within ${IP_ALLOWLIST_TTL_MS / 1000} seconds.\n`,
      );
    }
    const apiKeys = createApiKeyService({ store, now, audit });
    const token = generateToken();
    const key = await apiKeys.recoverAdmin(token);
    process.stdout.write(
      `Created the ADMIN key ${key.cid} ('${key.name}'), audited as a SYSTEM event.\n` +
        'Its token follows, shown this once: store it, create named keys with it, then delete this key.\n' +
        `${token}\n`,
    );
    // Its events chained before the process ends (PostgreSQL; a running node's sweep would too).
    await audit.close();
    return 0;
  } finally {
    keyring.close();
    await store.close();
  }
}
