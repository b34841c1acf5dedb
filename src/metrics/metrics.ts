import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type Count, precountedCounter, precountedHistogram, type Timing } from './precounted.js';

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
  /** What a cache calls on each look-up, bound to its series once (InvalidatedCache's `onLookup`). */
  cacheLookups(cache: CacheName): (hit: boolean) => void;
  /** A webhook delivery attempt ended: delivered (2xx) or failed (any other end). */
  webhookAttempted(delivered: boolean): void;
}

/** Metrics off (TESSERA_METRICS_TOKEN unset): every call is a no-op. */
export const NO_METRICS: Metrics = Object.freeze({
  registry: undefined,
  requestEnded() {},
  auditCommitted() {},
  cacheLookups: () => () => {},
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
  // What a request or a change touches is counted in plain numbers (precounted.ts); gauges,
  // read at scrape time anyway, are prom-client's own.
  const requests = precountedCounter(registry, {
    name: 'tessera_http_requests_total',
    help: 'Responses sent, by method, route pattern and status.',
  });
  const durations = precountedHistogram(registry, {
    name: 'tessera_http_request_duration_seconds',
    help: 'Time from the request to its response, by method and route pattern.',
    buckets: LATENCY_BUCKETS,
  });
  const authFailures = precountedCounter(registry, {
    name: 'tessera_auth_failures_total',
    help: 'Requests refused 401: a missing, malformed, unknown, expired or replaced token.',
  }).series();
  const rateLimited = precountedCounter(registry, {
    name: 'tessera_rate_limited_total',
    help: 'Requests refused 429: a key, a client or a failed-authentication budget spent.',
  }).series();
  const audit = precountedHistogram(registry, {
    name: 'tessera_audit_commit_duration_seconds',
    help: 'Audited changes, from the start of their transaction to its commit (the change and its events).',
    buckets: LATENCY_BUCKETS,
  }).series();
  const lookups = precountedCounter(registry, {
    name: 'tessera_cache_lookups_total',
    help: 'Look-ups of the in-process caches, by cache and result (hit or miss).',
  });
  const webhookAttempts = precountedCounter(registry, {
    name: 'tessera_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by result: delivered (a 2xx answer) or failed (to be retried, or given up).',
  });
  const delivered = webhookAttempts.series({ result: 'delivered' });
  const failed = webhookAttempts.series({ result: 'failed' });
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

  /**
   * A route's series by method, then its counts by status: found through two map look-ups and no
   * string built, since every response passes here. Labels are route patterns, methods the caller
   * has narrowed to a fixed set, and statuses: a bounded number of series.
   */
  const requestSeries = new Map<string, Map<string, { statuses: Map<number, Count>; timing: Timing }>>();
  function seriesOf(method: string, route: string) {
    let byMethod = requestSeries.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      requestSeries.set(route, byMethod);
    }
    let series = byMethod.get(method);
    if (series === undefined) {
      series = { statuses: new Map(), timing: durations.series({ method, route }) };
      byMethod.set(method, series);
    }
    return series;
  }

  const lookupCounters = new Map<CacheName, (hit: boolean) => void>();

  return {
    registry,
    requestEnded(method, route, status, seconds) {
      const series = seriesOf(method, route);
      let count = series.statuses.get(status);
      if (count === undefined) {
        count = requests.series({ method, route, status: String(status) });
        series.statuses.set(status, count);
      }
      count.n++;
      series.timing.observe(seconds);
      if (status === 401) authFailures.n++;
      else if (status === 429) rateLimited.n++;
    },
    auditCommitted(seconds) {
      audit.observe(seconds);
    },
    cacheLookups(cache) {
      // One pair of series per cache, however often it is asked for: a second would repeat them.
      let counted = lookupCounters.get(cache);
      if (counted === undefined) {
        const hits = lookups.series({ cache, result: 'hit' });
        const misses = lookups.series({ cache, result: 'miss' });
        counted = (hit) => {
          (hit ? hits : misses).n++;
        };
        lookupCounters.set(cache, counted);
      }
      return counted;
    },
    webhookAttempted(ok) {
      (ok ? delivered : failed).n++;
    },
  };
}
