import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { connectSqlite } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { openKeyring } from '../../src/features/keyring/keyring.js';

/**
 * Tessera's whole app in this process, on SQLite in a temporary folder, with a fresh master key
 * and no rate limit in the way: for the bench scripts that time one mechanism through the app
 * (bench/audit-pages.ts, bench/denial-rows.ts) rather than a server under load.
 */
export async function inProcessApp(name: string) {
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-${name}-`));
  const store = connectSqlite(dataDir);
  await migrateToLatest(store.db, store.dialect);
  const keyring = await openKeyring({ store, configured: masterKeyFrom(randomBytes(32)), source: 'bench' });
  const app = await buildApp({ store, keyring, rateLimitPerMinute: 1_000_000, logLevel: 'warn' });
  return {
    ...app,
    store,
    keyring,
    /** Closes the app gracefully: it writes what it holds (the denial counts, say). */
    async closeApp() {
      keyring.close();
      await app.server.close();
    },
    /** Then closes storage and removes the folder. */
    async removeStorage() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
