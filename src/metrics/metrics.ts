import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The in-process caches whose look-ups are counted (see InvalidatedCache's `onLookup`). */
export type CacheName = 'tokens' | 'secret-rows' | 'secret-versions' | 'ip-allowlist';

/** A connection pool's state, where the store has one (PostgreSQL). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * What the service measures about itself, for `GET /metrics` (Prometheus). Labels carry route
 * patterns, methods, statuses and cache names only: never an identifier of a key or a secret, so
 * nothing a client sends can add a series.
 */
export interface Metrics {
  /** Where the series are kept; undefined when metrics are off. */
  readonly registry: Registry | undefined;
  /** A response was sent: `route` is the route's pattern (`/api/v1/secrets/:tagOrId`). */
  requestEnded(method: string, route: string, status: number, seconds: number): void;
  /** An audited change committed: from the start of its transaction to its commit. */
  auditCommitted(seconds: number): void;
  cacheLookup(cache: CacheName, hit: boolean): void;
  /** A webhook delivery attempt ended: delivered (2xx) or failed (any other end). */
  webhookAttempted(delivered: boolean): void;
}

/** Metrics off (TESSERA_METRICS_TOKEN unset): every call is a no-op. */
export const NO_METRICS: Metrics = Object.freeze({
  registry: undefined,
  requestEnded() {},
  auditCommitted() {},
  cacheLookup() {},
  webhookAttempted() {},
});

/** Short requests dominate: the buckets are finer below 50 ms. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  poolStats?: (() => PoolStats) | undefined;
  /** Webhook deliveries waiting to be sent, fleet-wide (read from storage at each scrape). */
  webhookQueueDepth?: (() => Promise<number>) | undefined;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_process_' });
  const requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'Responses sent, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'Time from the request to its response, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'tessera_auth_failures_total',
    help: 'Requests refused 401: a missing, malformed, unknown, expired or replaced token.',
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'tessera_rate_limited_total',
    help: 'Requests refused 429: a key, a client or a failed-authentication budget spent.',
    registers: [registry],
  });
  const audit = new Histogram({
    name: 'tessera_audit_commit_duration_seconds',
    help: 'Audited changes, from the start of their transaction to its commit (the change and its events).',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const lookups = new Counter({
    name: 'tessera_cache_lookups_total',
    help: 'Look-ups of the in-process caches, by cache and result (hit or miss).',
    labelNames: ['cache', 'result'] as const,
    registers: [registry],
  });
  const webhookAttempts = new Counter({
    name: 'tessera_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by result: delivered (a 2xx answer) or failed (to be retried, or given up).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const delivered = webhookAttempts.labels('delivered');
  const failed = webhookAttempts.labels('failed');
  const { poolStats, webhookQueueDepth } = options;
  if (webhookQueueDepth !== undefined) {
    new Gauge({
      name: 'tessera_webhook_queue_depth',
      help: 'Webhook deliveries waiting to be sent (pending), across the fleet: the same on every worker, so not summed.',
      // Every worker reads the same table: the primary reports one reading, not their sum.
      aggregator: 'max',
      registers: [registry],
      async collect() {
        this.set(await webhookQueueDepth());
      },
    });
  }
  if (poolStats !== undefined) {
    new Gauge({
      name: 'tessera_db_pool_connections',
      help: 'PostgreSQL pool connections, by state: open in all, idle, and requests waiting for one.',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }

  // Every response passes here: the labelled children are kept, so that a request costs a map
  // look-up and two additions, not prom-client's hashing of the label values.
  const requestSeries = new Map<string, { count: Counter; duration: Histogram }>();
  function seriesOf(method: string, route: string, status: number) {
    const key = `${method} ${status} ${route}`;
    let series = requestSeries.get(key);
    if (series === undefined) {
      series = {
        count: requests.labels(method, route, String(status)) as unknown as Counter,
        duration: durations.labels(method, route) as unknown as Histogram,
      };
      requestSeries.set(key, series);
    }
    return series;
  }
  const lookupSeries = new Map<string, Counter>();

  return {
    registry,
    requestEnded(method, route, status, seconds) {
      const series = seriesOf(method, route, status);
      series.count.inc();
      series.duration.observe(seconds);
      if (status === 401) authFailures.inc();
      else if (status === 429) rateLimited.inc();
    },
    auditCommitted(seconds) {
      audit.observe(seconds);
    },
    cacheLookup(cache, hit) {
      const key = `${cache}:${hit}`;
      let series = lookupSeries.get(key);
      if (series === undefined) {
        series = lookups.labels(cache, hit ? 'hit' : 'miss') as unknown as Counter;
        lookupSeries.set(key, series);
      }
      series.inc();
    },
    webhookAttempted(ok) {
      (ok ? delivered : failed).inc();
    },
  };
}
