import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { type ChangeNoticeBus, createLocalNoticeBus } from './cluster/change-notice-bus.js';
import type { LogLevel } from './config.js';
import { type IdPrefix, looksLikeId } from './crypto/ids.js';
import type { Store } from './db/database.js';
import { startCountSettling } from './db/listing/count-settling.js';
import type { ObjectType } from './domain/object-types.js';
import { apiKeysListing } from './features/api-keys/api-keys.listing.js';
import { apiKeyRoutes } from './features/api-keys/api-keys.routes.js';
import { type ApiKeyService, createApiKeyService } from './features/api-keys/api-keys.service.js';
import { type AuthenticatedKey, createAuthentication } from './features/api-keys/authentication.js';
import { createLastUsed, type LastUsed } from './features/api-keys/last-used.js';
import { TokenCache } from './features/api-keys/token-cache.js';
import { createDenialWindow, type OpenDenialWindow } from './features/audit/audit.denial-window.js';
import { createDenialLog } from './features/audit/audit.denials.js';
import { createAuditLog } from './features/audit/audit.log.js';
import { auditRoutes } from './features/audit/audit.routes.js';
import { createAuditService } from './features/audit/audit.service.js';
import type { AuditEventRow } from './features/audit/audit.table.js';
import { healthRoutes } from './features/health/health.routes.js';
import { createIpAllowlistGate } from './features/ip-allowlist/ip-allowlist.gate.js';
import { ipAllowlistRoutes } from './features/ip-allowlist/ip-allowlist.routes.js';
import { createIpAllowlistService } from './features/ip-allowlist/ip-allowlist.service.js';
import type { Keyring } from './features/keyring/keyring.js';
import { rolesListing } from './features/roles/roles.listing.js';
import { roleRoutes } from './features/roles/roles.routes.js';
import { createRoleService } from './features/roles/roles.service.js';
import { createSecretCaches } from './features/secrets/secret-lookup.js';
import { secretsListing } from './features/secrets/secrets.listing.js';
import { secretRoutes } from './features/secrets/secrets.routes.js';
import { createSecretService, type SecretService } from './features/secrets/secrets.service.js';
import type { ScanningKeys } from './features/token-scanning/scanning-keys.js';
import { tokenScanningRoutes } from './features/token-scanning/token-scanning.routes.js';
import { createExpiryReminders, type ExpiryReminderOptions } from './features/webhooks/expiry-reminders.js';
import { createDeliveryLoop, type DeliveryOptions } from './features/webhooks/webhook-delivery.js';
import { createWebhookOutbox } from './features/webhooks/webhook-outbox.js';
import { webhooksListing } from './features/webhooks/webhooks.listing.js';
import { webhookRoutes } from './features/webhooks/webhooks.routes.js';
import { createWebhookService } from './features/webhooks/webhooks.service.js';
import { registerAccessControl } from './http/access.js';
import { createAuthFailureBudget, NO_AUTH_FAILURE_BUDGET } from './http/auth-failures.js';
import { BODY_LIMIT_BYTES, registerBodyParsers } from './http/body-parsers.js';
import { answerClientError } from './http/client-errors.js';
import { DEFAULT_CONSOLE_DIR, registerConsole } from './http/console.js';
import { registerErrorHandler } from './http/error-handler.js';
import {
  HTTP_LIMITS,
  type HttpLimits,
  MAX_HEADER_BYTES,
  MAX_HEADERS_COUNT,
  MAX_PARAM_LENGTH,
} from './http/limits.js';
import { registerOpenApi } from './http/openapi.js';
import { sendProblem } from './http/problem.js';
import { registerQueryBooleans } from './http/query-booleans.js';
import { createMemoryRateLimiter, type RateLimiter } from './http/rate-limiter.js';
import { generateRequestId } from './http/request-id.js';
import { requestLoggerFactory } from './http/request-logger.js';
import { registerMetricsRoute, registerRequestMetrics } from './http/request-metrics.js';
import { API_HEADERS, registerResponseHeaders } from './http/response-headers.js';
import { fastifyTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { registerValidators } from './http/validation.js';
import { type LogDestination, loggerOptions, registerRequestLog } from './log.js';
import { type CacheName, type Metrics, NO_METRICS } from './metrics/metrics.js';

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
  /** Which proxies may name the client in X-Forwarded-For (default: none). */
  trustProxy?: TrustProxy;
  /** The clock; injectable so tests can move time. */
  now?: () => Date;
  rateLimiter?: RateLimiter;
  /**
   * Failed authentications per client per minute before its further failures are answered 429
   * instead of 401 (see auth-failures.ts). Unset, with no `authFailureLimiter` either: no such budget, only the
   * general one. The server always sets it (TESSERA_AUTH_FAILURES_PER_MINUTE, default 20).
   */
  authFailuresPerMinute?: number;
  /** Where failed authentications are counted (Redis for a fleet); in memory when unset. */
  authFailureLimiter?: RateLimiter;
  /** Slow-client limits; the defaults are HTTP_LIMITS (tests shorten them). */
  httpLimits?: Partial<HttpLimits>;
  /** How changes to keys, secrets and the IP allowlist reach the caches that hold them (default: this process). */
  changeNotices?: ChangeNotices;
  /**
   * Prometheus metrics (`GET /metrics`), when TESSERA_METRICS_TOKEN is set: the series and the
   * token; `text` gives the exposition (every worker's, summed, in a multi-process server).
   */
  metrics?: { metrics: Metrics; token: string; text?: () => Promise<string> };
  /** The keys that sign leaked-token reports (TESSERA_SCANNING_PUBLIC_KEYS_FILE); none: no such route. */
  scanningKeys?: ScanningKeys;
  /** Receives each committed audit event (the SIEM export), when configured. */
  auditExport?: (row: AuditEventRow) => void;
  /**
   * When a window of counted anonymous denials ends (see audit.denial-window.ts): a minute's
   * timer unless set; tests close windows themselves.
   */
  denialWindow?: OpenDenialWindow;
  /** Milliseconds between writes of the keys' last-used times (default 20 s; see last-used.ts). */
  lastUsedFlushMs?: number;
  /** The web console's built files (`npm run build`), served at /console/; DEFAULT_CONSOLE_DIR when unset. */
  consoleDir?: string;
  /**
   * Webhook delivery (TESSERA_WEBHOOK_ALLOW_PRIVATE, timeouts and retries) and the expiry
   * reminders' scan; tests shorten the delays.
   */
  webhooks?: Partial<DeliveryOptions> & { reminders?: ExpiryReminderOptions };
}

/**
 * How changes to keys and secrets reach every cache that holds them:
 * - `this-process`: nothing else changes this data (the embedded default, one process), so the
 *   caches hear every change from the process itself;
 * - `shared`: every node or worker announces its changes on `bus` and hears the others';
 * - `uncached`: other nodes change the data and nothing would tell this one, so it keeps no
 *   caches at all and reads storage every time.
 */
export type ChangeNotices =
  | { mode: 'this-process' }
  | { mode: 'shared'; bus: ChangeNoticeBus }
  | { mode: 'uncached' };

export interface App {
  server: FastifyInstance;
  apiKeys: ApiKeyService;
  secrets: SecretService;
  /** The keys' last uses seen by this process, written in batches (tests flush them at will). */
  lastUsed: LastUsed;
  /** One scan for due expiry reminders now, rather than at the next timed one (tests move the clock). */
  scanReminders(): Promise<void>;
}

/** Builds the HTTP application without listening: `main` adds the port, tests may use inject. */
export async function buildApp(options: AppOptions): Promise<App> {
  const now = options.now ?? (() => new Date());
  const limits = { ...HTTP_LIMITS, ...options.httpLimits };
  const server = Fastify({
    logger: loggerOptions(options.logLevel ?? 'info', options.logStream),
    genReqId: () => generateRequestId(),
    // request.log is made only when something is logged (see request-logger.ts).
    childLoggerFactory: requestLoggerFactory,
    // One line per request, from registerRequestLog, instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
    // Slow clients may not hold a connection or a request open indefinitely (see HttpLimits).
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    // Requests the HTTP parser refuses get problem+json too (see client-errors.ts).
    clientErrorHandler: answerClientError,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // A path parameter longer than any identifier (a tag is at most 100 characters) is refused by
    // the router before any schema sees it.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (a malformed URL, an over-long parameter) bypass hooks and the
    // error handler, and the framework's answer echoes the whole URL: answer problem+json here.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id).headers(API_HEADERS);
      return sendProblem(request, reply, {
        type: 'BAD_REQUEST',
        status: 400,
        message: 'Invalid request',
        detail:
          error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? `A path segment is longer than ${MAX_PARAM_LENGTH} characters`
            : 'The URL is malformed',
      });
    },
  });
  server.server.maxHeadersCount = MAX_HEADERS_COUNT;
  const limiter = options.rateLimiter ?? createMemoryRateLimiter(options.rateLimitPerMinute);
  const failureLimiter =
    options.authFailureLimiter ??
    (options.authFailuresPerMinute === undefined
      ? undefined
      : createMemoryRateLimiter(options.authFailuresPerMinute, () => now().getTime()));
  server.addHook('onClose', async () => {
    await Promise.all([limiter.close(), failureLimiter?.close()]);
  });

  registerValidators(server);
  const metrics = options.metrics?.metrics ?? NO_METRICS;
  const measured = metrics.registry !== undefined;
  const bus = busFor(options.changeNotices ?? { mode: 'this-process' });
  const outbox = createWebhookOutbox(bus, now);
  const webhookOptions = { allowPrivate: false, ...options.webhooks };
  const deliveries = createDeliveryLoop(options.store, options.keyring, outbox, now, webhookOptions, {
    onAttempt: measured ? (ok) => metrics.webhookAttempted(ok) : undefined,
    warn: (message) => server.log.warn(message),
  });
  const { auditExport } = options;
  const audit = createAuditLog({
    store: options.store,
    now,
    onCommitted: () => {
      // Outbox rows just committed on this node: send them now rather than at the next poll.
      if (outbox.takeWritten()) deliveries.wake();
    },
    onSealed:
      auditExport === undefined
        ? undefined
        : (rows) => {
            for (const row of rows) auditExport(row);
          },
    onSealError: (error) =>
      server.log.warn(
        { err: error },
        'could not chain pending audit events; they stay pending and are retried',
      ),
    onCommitDuration: measured ? (seconds) => metrics.auditCommitted(seconds) : undefined,
    afterRecord: (trx, row) => outbox.afterRecord(trx, row),
  });
  const countsLost = (error: unknown) =>
    server.log.error({ err: error }, 'could not record counted denials in the audit log');
  const denials = createDenialWindow({
    audit,
    ...(options.denialWindow === undefined ? {} : { open: options.denialWindow }),
    onError: countsLost,
  });
  audit.start();
  if (options.store.dialect === 'postgres') {
    // Lists that writers on every connection count side by side, settled now and then.
    const settling = startCountSettling({
      db: options.store.db,
      listings: [apiKeysListing, secretsListing, rolesListing, webhooksListing],
      onError: (error) =>
        server.log.warn({ err: error }, 'could not settle list counts; they stay exact and are retried'),
    });
    server.addHook('onClose', () => settling.close());
  }
  // Before the store closes (it closes after the server): a graceful close loses no count, and
  // the events it writes are chained before the last seal.
  server.addHook('onClose', async () => {
    await denials.close().catch(countsLost);
    await audit.close();
  });
  registerErrorHandler(server, {
    onDenied: createDenialLog({ audit, resolve: storedObjectId, window: denials }),
  });
  registerBodyParsers(server);
  registerQueryBooleans(server);
  registerResponseHeaders(server);
  registerRequestLog(server);
  registerRequestMetrics(server, metrics);
  if (options.metrics !== undefined && metrics.registry !== undefined) {
    const { registry } = metrics;
    registerMetricsRoute(server, {
      token: options.metrics.token,
      text: options.metrics.text ?? (() => registry.metrics()),
      contentType: registry.contentType,
    });
  }

  const lookups = (cache: CacheName) => (measured ? metrics.cacheLookups(cache) : undefined);
  const cache =
    bus === undefined ? undefined : new TokenCache<AuthenticatedKey>(bus, Date.now, lookups('tokens'));
  const apiKeys = createApiKeyService({ store: options.store, now, cache, audit });
  const lastUsed = createLastUsed({
    store: options.store,
    ...(options.lastUsedFlushMs === undefined ? {} : { flushEveryMs: options.lastUsedFlushMs }),
    onError: (error) =>
      server.log.warn({ err: error }, "could not write the keys' last-used times; will retry"),
  });
  lastUsed.start();
  // Before the store closes: a graceful close writes every use seen.
  server.addHook('onClose', () => lastUsed.close());
  const ipAllowlist = createIpAllowlistGate(options.store.db, bus, lookups('ip-allowlist'));
  registerAccessControl(server, {
    limiter,
    failures: failureLimiter === undefined ? NO_AUTH_FAILURE_BUDGET : createAuthFailureBudget(failureLimiter),
    authenticate: createAuthentication({ store: options.store, now, cache, lastUsed }),
    admitsClient: (ip) => ipAllowlist.admits(ip),
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
    cache: bus === undefined ? undefined : createSecretCaches(bus, lookups),
    bus,
  });
  // Before the server waits for in-flight requests: polls waiting for a change answer at once,
  // so a stop never waits out their long polls.
  server.addHook('preClose', (done) => {
    secrets.close();
    done();
  });
  /**
   * What a denied call's path identifier is recorded as: a stored secret by its tag, else an
   * identifier only when it has the shape of one (an id cannot be a pasted token or value).
   */
  async function storedObjectId(type: ObjectType, identifier: string): Promise<string | undefined> {
    const idShaped = (prefix: IdPrefix) => (looksLikeId(prefix, identifier) ? identifier : undefined);
    if (type === 'SECRET') {
      try {
        return (await secrets.find(identifier)).tag;
      } catch {
        return idShaped('se');
      }
    }
    if (type === 'API_KEY') return idShaped('ak');
    return undefined;
  }
  await server.register(apiKeyRoutes, { service: apiKeys, lastUsed });
  await server.register(secretRoutes, { service: secrets });
  await server.register(auditRoutes, { service: createAuditService({ store: options.store, audit }) });
  await server.register(ipAllowlistRoutes, {
    service: createIpAllowlistService({ store: options.store, audit, gate: ipAllowlist }),
  });
  const roles = createRoleService({
    store: options.store,
    now,
    audit,
    invalidate: cache === undefined ? undefined : (owner) => cache.invalidate(owner),
  });
  await server.register(roleRoutes, { service: roles });
  await server.register(webhookRoutes, {
    service: createWebhookService({
      store: options.store,
      keyring: options.keyring,
      audit,
      outbox,
      now,
      allowPrivate: webhookOptions.allowPrivate,
      wake: () => deliveries.wake(),
    }),
  });
  const reminders = createExpiryReminders(
    options.store,
    outbox,
    now,
    { wake: () => deliveries.wake(), warn: (message) => server.log.warn(message) },
    options.webhooks?.reminders,
  );
  // Stopped before the store closes (it closes after the server): no hanging stop.
  server.addHook('onClose', async () => {
    await Promise.all([deliveries.stop(), reminders.stop()]);
  });
  if (options.scanningKeys !== undefined) {
    await server.register(tokenScanningRoutes, { keys: options.scanningKeys, apiKeys });
  }
  await registerConsole(server, options.consoleDir ?? DEFAULT_CONSOLE_DIR);
  await server.ready();
  deliveries.start();
  reminders.start();
  return { server, apiKeys, secrets, lastUsed, scanReminders: () => reminders.scan() };
}

/** The bus the caches listen on, or none when nothing may be cached. */
function busFor(notices: ChangeNotices): ChangeNoticeBus | undefined {
  if (notices.mode === 'uncached') return undefined;
  return notices.mode === 'shared' ? notices.bus : createLocalNoticeBus();
}
