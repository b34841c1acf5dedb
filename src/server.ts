import { buildApp } from './app.js';
import type { Config } from './config.js';
import { connect } from './db/connect.js';
import type { Store } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { ensureBootstrapKey } from './features/api-keys/bootstrap.js';
import { type Keyring, openKeyring } from './features/keyring/keyring.js';
import { resolveMasterKey } from './features/keyring/master-key-source.js';

const SHUTDOWN_GRACE_MS = 10_000;
/** Running nodes re-read the master-key table this often, to follow a rotation. */
export const KEYRING_REFRESH_MS = 2_000;

/** Connects, migrates and checks the master key; closes the store again if any step fails. */
export async function openStorage(config: Config, warn: (message: string) => void) {
  const store = await connect({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await migrateToLatest(store.db, store.dialect);
    const resolved = await resolveMasterKey(config.masterKey, store, config.dataDir);
    const keyring = await openKeyring({
      store,
      configured: resolved.key,
      source: resolved.source,
      refreshIntervalMs: KEYRING_REFRESH_MS,
      warn,
    });
    return { store, keyring, masterKeySource: resolved };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * The process around the app: open storage, bootstrap the first key, listen, and close
 * gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close storage).
 */
export async function startServer(config: Config) {
  const warnings: string[] = [];
  const { store, keyring, masterKeySource } = await openStorage(config, (m) => warnings.push(m));
  const { server, apiKeys } = await buildApp({
    store,
    keyring,
    rateLimitPerMinute: config.rateLimitPerMinute,
    logLevel: config.logLevel,
    trustProxy: config.trustProxy,
    secretVersionsKept: config.secretVersionsKept,
    secretReveal: config.secretReveal,
  });
  for (const message of warnings) server.log.warn(message);
  if (masterKeySource.generated) {
    server.log.warn(
      { file: masterKeySource.source },
      `generated a new master key in ${masterKeySource.source}: back it up, without it no secret can be read`,
    );
  }
  await ensureBootstrapKey(apiKeys, {
    dataDir: config.dataDir,
    token: config.bootstrapToken,
    log: server.log,
  });
  await server.listen({ host: config.host, port: config.port });
  closeOnSignals(server, store, keyring);
  return server;
}

function closeOnSignals(
  server: Awaited<ReturnType<typeof buildApp>>['server'],
  store: Store,
  keyring: Keyring,
) {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    server.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      server.log.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    keyring.close();
    server
      .close()
      .then(() => store.close())
      .then(
        () => {
          server.log.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          server.log.error({ err: error }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
