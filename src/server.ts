import { buildApp } from './app.js';
import type { Config } from './config.js';
import { connect } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { ensureBootstrapKey } from './features/api-keys/bootstrap.js';

const SHUTDOWN_GRACE_MS = 10_000;

/**
 * The process around the app: connect and migrate storage, bootstrap the first key, listen, and
 * close gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close storage).
 */
export async function startServer(config: Config) {
  const store = await connect({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
  });
  try {
    await migrateToLatest(store.db, store.dialect);
  } catch (error) {
    await store.close();
    throw error;
  }
  const { server, apiKeys } = await buildApp({
    store,
    rateLimitPerMinute: config.rateLimitPerMinute,
    logLevel: config.logLevel,
    trustProxy: config.trustProxy,
  });
  await ensureBootstrapKey(apiKeys, {
    dataDir: config.dataDir,
    token: config.bootstrapToken,
    log: server.log,
  });
  await server.listen({ host: config.host, port: config.port });

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
  return server;
}
