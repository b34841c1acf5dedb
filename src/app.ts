import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { createLocalBus, type InvalidationBus } from './cluster/invalidation-bus.js';
import type { LogLevel } from './config.js';
import type { Store } from './db/database.js';
import { apiKeyRoutes } from './features/api-keys/api-keys.routes.js';
import { type ApiKeyService, createApiKeyService } from './features/api-keys/api-keys.service.js';
import { TokenCache } from './features/api-keys/token-cache.js';
import { recordDenial } from './features/audit/audit.denials.js';
import { createAuditLog } from './features/audit/audit.log.js';
import { auditRoutes } from './features/audit/audit.routes.js';
import { createAuditService } from './features/audit/audit.service.js';
import type { AuditEventRow } from './features/audit/audit.table.js';
import { healthRoutes } from './features/health/health.routes.js';
import type { Keyring } from './features/keyring/keyring.js';
import { secretRoutes } from './features/secrets/secrets.routes.js';
import { createSecretService, type SecretService } from './features/secrets/secrets.service.js';
import { registerAccessControl } from './http/access.js';
import { BODY_LIMIT_BYTES, registerBodyParsers } from './http/body-parsers.js';
import { registerErrorHandler } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { registerQueryBooleans } from './http/query-booleans.js';
import { createMemoryRateLimiter, type RateLimiter } from './http/rate-limiter.js';
import { generateRequestId } from './http/request-id.js';
import { registerValidators } from './http/validation.js';
import { type LogDestination, loggerOptions } from './log.js';

export interface AppOptions {
  store: Store;
  /** Master keys, checked against the store (see openKeyring). */
  keyring: Keyring;
  /** Value versions kept per secret (default 10). */
  secretVersionsKept?: number;
  /** Whether values may be revealed at all (default true). */
  secretReveal?: boolean;
  rateLimitPerMinute: number;
  logLevel?: LogLevel;
  /** Where log lines go (tests capture them); stdout when unset. */
  logStream?: LogDestination;
  trustProxy?: boolean;
  /** The clock; injectable so tests can move time. */
  now?: () => Date;
  rateLimiter?: RateLimiter;
  /**
   * How key changes reach every node's token cache. Unset: this process alone (right for the
   * embedded default). `null`: no token cache at all (several nodes with no shared channel).
   */
  bus?: InvalidationBus | null;
  /** Receives each committed audit event (the SIEM export), when configured. */
  auditExport?: (row: AuditEventRow) => void;
}

export interface App {
  server: FastifyInstance;
  apiKeys: ApiKeyService;
  secrets: SecretService;
}

/** Builds the HTTP application without listening: `main` adds the port, tests may use inject. */
export async function buildApp(options: AppOptions): Promise<App> {
  const now = options.now ?? (() => new Date());
  const server = Fastify({
    logger: loggerOptions(options.logLevel ?? 'info', options.logStream),
    genReqId: () => generateRequestId(),
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      // Probes arrive every few seconds; logging each would drown the useful lines.
      disableRequestLogging: (request) => request.url === '/healthz' || request.url === '/readyz',
    }),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: options.trustProxy ?? false,
    // Slow clients may not hold a connection or a request open indefinitely.
    connectionTimeout: 60_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  const limiter = options.rateLimiter ?? createMemoryRateLimiter(options.rateLimitPerMinute);
  server.addHook('onClose', async () => limiter.close());

  registerValidators(server);
  const audit = createAuditLog({ store: options.store, now, onCommitted: options.auditExport });
  registerErrorHandler(server, { onDenied: (request, error) => recordDenial(audit, request, error) });
  registerBodyParsers(server);
  registerQueryBooleans(server);
  server.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    // Nothing under /api may be cached: keys, secrets and who-may-do-what are all sensitive.
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  const bus = options.bus === undefined ? createLocalBus() : options.bus;
  const cache = bus === null ? undefined : new TokenCache(bus);
  const apiKeys = createApiKeyService({ store: options.store, now, cache, audit });
  registerAccessControl(server, {
    limiter,
    authenticate: apiKeys.authenticate,
  });
  await registerOpenApi(server);
  await server.register(healthRoutes, { store: options.store });
  const secrets = createSecretService({
    store: options.store,
    keyring: options.keyring,
    now,
    versionsKept: options.secretVersionsKept ?? 10,
    revealEnabled: options.secretReveal ?? true,
    audit,
  });
  await server.register(apiKeyRoutes, { service: apiKeys });
  await server.register(secretRoutes, { service: secrets });
  await server.register(auditRoutes, { service: createAuditService({ store: options.store }) });
  await server.ready();
  return { server, apiKeys, secrets };
}
