import cluster from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Warn } from './cluster/redis.js';
import { type Config, ConfigError } from './config.js';
import { connect } from './db/connect.js';
import type { Dialect, Store } from './db/database.js';
import { startListItemBackfill } from './db/listing/list-item-backfill.js';
import { migrateToLatest } from './db/migrate.js';
import { ensureBootstrapKey } from './features/api-keys/bootstrap.js';
import { createAuditExporter } from './features/audit/audit.export.js';
import { pruneAuditEvents } from './features/audit/audit.retention.js';
import { openKeyring } from './features/keyring/keyring.js';
import { resolveMasterKey } from './features/keyring/master-key-source.js';
import { LISTINGS } from './features/listings.js';
import { createMemoryRateLimiter } from './http/rate-limiter.js';
import { boundHeapGrowth } from './runtime/heap-growth.js';
import { holdStopSignals, type StopSignal } from './runtime/stop-signals.js';

const SHUTDOWN_GRACE_MS = 10_000;
/** Running nodes re-read the master-key table this often, to follow a rotation. */
export const KEYRING_REFRESH_MS = 2_000;

/**
 * A TESSERA_HOST name that does not resolve stops start-up naming the variable, before anything
 * is created in the data folder (listen would fail only after that, naming no setting).
 */
async function assertResolvable(host: string): Promise<void> {
  if (isIP(host) !== 0) return;
  try {
    await lookup(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(`TESSERA_HOST: '${host}' does not resolve to an address to listen on (${code})`);
  }
}

/** Connects, migrates and checks the master key; closes the store again if any step fails. */
export async function openStorage(config: Config, warn: (message: string) => void) {
  const store = await connect({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolSize: config.databasePoolSize,
  });
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
  // First: a stop signal from here on ends the process gracefully, even while it is starting.
  const stopSignals = holdStopSignals(SHUTDOWN_GRACE_MS);
  boundHeapGrowth();
  await assertResolvable(config.host);
  // Before anything is opened: a keys file that cannot be read stops start-up naming it.
  const scanningKeys =
    config.scanningPublicKeysFile === undefined
      ? undefined
      : (await import('./features/token-scanning/scanning-keys.js')).readScanningKeys(
          config.scanningPublicKeysFile,
        );
  // Until the logger exists warnings are held; after that they go straight to it (the keyring
  // keeps warning from its background refresh for as long as the process runs).
  const warnings: string[] = [];
  let warn = (message: string) => void warnings.push(message);
  const { store, keyring, masterKeySource } = await openStorage(config, (m) => warn(m));
  const cluster = await clusterParts(config, store.dialect, { warn: (m) => warn(m), info: () => {} });
  const exporter =
    config.auditExport === undefined
      ? undefined
      : createAuditExporter(config.auditExport, (error) =>
          warn(
            `audit export to ${config.auditExport} failed (${error.message}); events are still in the database`,
          ),
        );
  const { server, apiKeys } = await buildApp({
    store,
    keyring,
    ...(exporter === undefined ? {} : { auditExport: exporter.write }),
    ...cluster.parts,
    rateLimitPerMinute: config.rateLimitPerMinute,
    authFailuresPerMinute: config.authFailuresPerMinute,
    logLevel: config.logLevel,
    trustProxy: config.trustProxy,
    secretVersionsKept: config.secretVersionsKept,
    secretReveal: config.secretReveal,
    webhooks: {
      allowPrivate: config.webhookAllowPrivate,
      timeoutMs: config.webhookTimeoutSeconds * 1000,
      retryBaseMs: config.webhookRetryBaseSeconds * 1000,
    },
    ...(await metricsParts(config, store)),
    ...(scanningKeys === undefined ? {} : { scanningKeys }),
  });
  for (const message of warnings.splice(0)) server.log.warn(message);
  warn = (message) => {
    server.log.warn(message);
  };
  cluster.attachLog(server.log);
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
  const retention = scheduleAuditRetention(store, config.auditRetentionDays, server.log);
  const backfill = startListItemBackfill(store, LISTINGS, server.log);
  stopSignals.whenReady(
    closeGracefully(server, async () => {
      clearInterval(retention);
      await backfill.stop();
      keyring.close();
      await exporter?.close();
      await cluster.close();
      await store.close();
    }),
  );
  return server;
}

const RETENTION_EVERY_MS = 60 * 60 * 1000;

/** Prunes audit events past the retention period now and every hour (on every node: idempotent). */
function scheduleAuditRetention(store: Store, days: number, log: FastifyBaseLogger) {
  const prune = () => {
    const cutoff = new Date(Date.now() - days * 24 * 60 * 60 * 1000);
    pruneAuditEvents(store, cutoff).then(
      (deleted) => {
        if (deleted > 0)
          log.info({ deleted, cutoff: cutoff.toISOString() }, 'pruned audit events past retention');
      },
      (error: unknown) => log.warn({ err: error }, 'audit retention failed; will retry'),
    );
  };
  prune();
  const timer = setInterval(prune, RETENTION_EVERY_MS);
  timer.unref();
  return timer;
}

/**
 * With REDIS_URL: shared rate limits and change notices for the caches of keys and secrets.
 * Without it, on SQLite: local notices, and rate limits in memory, shared with the other workers
 * through the primary when there are several (TESSERA_WORKERS). On PostgreSQL without Redis other
 * nodes could not hear changes, so there are no caches at all (every request reads storage).
 */
async function clusterParts(config: Config, dialect: Dialect, startupLog: Warn) {
  let log: Warn = startupLog;
  const proxyLog: Warn = { warn: (m) => log.warn(m), info: (m) => log.info(m) };
  if (config.redisUrl === undefined) {
    return {
      parts: cluster.isWorker
        ? await workerParts(config, dialect)
        : dialect === 'sqlite'
          ? {}
          : { changeNotices: { mode: 'uncached' } as const },
      attachLog: (_l: FastifyBaseLogger) => {},
      close: async () => {},
    };
  }
  // Loaded only when configured: the embedded default starts without the Redis client's modules.
  const { connectRedis, createRedisRateLimiter } = await import('./cluster/redis.js');
  const { createRedisNoticeBus } = await import('./cluster/redis-notice-bus.js');
  const redis = connectRedis(config.redisUrl);
  redis.on('error', () => {});
  const bus = createRedisNoticeBus(config.redisUrl, proxyLog);
  const rateLimiter = createRedisRateLimiter(
    redis,
    config.rateLimitPerMinute,
    createMemoryRateLimiter(config.rateLimitPerMinute),
    proxyLog,
  );
  // The failed-authentication budget, fleet-wide: a guesser gains nothing by spreading attempts
  // over nodes. Same Redis, own keys (`authfail:`), own limit; the limiter above already reports
  // Redis going and coming, so this one stays quiet.
  const authFailureLimiter = createRedisRateLimiter(
    redis,
    config.authFailuresPerMinute,
    createMemoryRateLimiter(config.authFailuresPerMinute),
    { warn: () => {}, info: () => {} },
  );
  return {
    parts: { changeNotices: { mode: 'shared', bus } as const, rateLimiter, authFailureLimiter },
    attachLog: (l: FastifyBaseLogger) => {
      log = { warn: (m) => l.warn(m), info: (m) => l.info(m) };
    },
    close: async () => {
      await bus.close();
      redis.disconnect();
    },
  };
}

/**
 * With TESSERA_METRICS_TOKEN: the series, and how a scrape reads them (in a worker of a
 * multi-process server, every worker's, summed by the primary). Loaded only when configured.
 */
async function metricsParts(config: Config, store: Store) {
  if (config.metricsToken === undefined) return {};
  const { createMetrics } = await import('./metrics/metrics.js');
  const { countPending } = await import('./features/webhooks/webhooks.repository.js');
  const metrics = createMetrics({
    poolStats: store.poolStats?.bind(store),
    webhookQueueDepth: () => countPending(store.db),
  });
  const registry = metrics.registry as NonNullable<typeof metrics.registry>;
  if (!cluster.isWorker) return { metrics: { metrics, token: config.metricsToken } };
  const { processChannel } = await import('./cluster/ipc.js');
  const { workerMetricsText } = await import('./cluster/cluster-metrics.js');
  return {
    metrics: { metrics, token: config.metricsToken, text: workerMetricsText(processChannel(), registry) },
  };
}

/** A worker of a multi-process server without Redis: what it shares goes through the primary. */
async function workerParts(config: Config, dialect: Dialect) {
  const { processChannel } = await import('./cluster/ipc.js');
  const { createIpcNoticeBus } = await import('./cluster/ipc-notice-bus.js');
  const { createSharedRateLimiter, SPEND_REPORT_MS } = await import('./cluster/shared-rate-limiter.js');
  const channel = processChannel();
  return {
    // Other nodes (PostgreSQL) could not hear this server's changes: no caches there.
    changeNotices:
      dialect === 'sqlite'
        ? ({ mode: 'shared', bus: createIpcNoticeBus(channel) } as const)
        : ({ mode: 'uncached' } as const),
    rateLimiter: createSharedRateLimiter({
      name: 'requests',
      limit: config.rateLimitPerMinute,
      channel,
      reportMs: SPEND_REPORT_MS,
    }),
    // Failures are rare and their budget small: each is reported at once, and judged on the
    // primary's count, so concurrent guesses spread over the workers cannot overdraw it.
    authFailureLimiter: createSharedRateLimiter({
      name: 'authFailures',
      limit: config.authFailuresPerMinute,
      channel,
      reportMs: 0,
      exact: true,
    }),
  };
}

/** The stop: finish in-flight requests, release the rest, exit (bounded by its grace timer). */
function closeGracefully(server: FastifyInstance, release: () => Promise<void>) {
  return (signal: StopSignal) => {
    server.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      server.log.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    server
      .close()
      .then(release)
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
}
