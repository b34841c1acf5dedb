import type { FastifyInstance } from 'fastify';
import { digestsEqual, hashToken } from '../crypto/tokens.js';
import type { Metrics } from '../metrics/metrics.js';
import { AppError } from './errors.js';
import { origin } from './schemas.js';

/** Methods the API routes; anything else a client sends is counted as OTHER (bounded labels). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * Counts every response by method, route pattern and status, and times it. A request that
 * matched no route is counted under `unmatched`, whatever its path: a path is never a label.
 */
export function registerRequestMetrics(server: FastifyInstance, metrics: Metrics): void {
  if (metrics.registry === undefined) return;
  server.addHook('onResponse', (request, reply, done) => {
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestEnded(method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

export interface MetricsRouteOptions {
  /** TESSERA_METRICS_TOKEN: what a scraper sends as its bearer token (not an API key). */
  token: string;
  /** The exposition text: this process's series, or, with workers, every worker's summed. */
  text: () => Promise<string>;
  contentType: string;
}

/**
 * `GET /metrics` (Prometheus), on the service's own port, for the metrics token only. Like the
 * health probes it is outside the API: no API key, no rate limit and no IP allowlist (scrapers
 * run inside the deployment); the token is the whole of its protection, compared in constant
 * time. The route exists only when a token is configured: otherwise /metrics is a 404.
 */
export function registerMetricsRoute(server: FastifyInstance, options: MetricsRouteOptions): void {
  const wanted = hashToken(options.token);
  server.get(
    '/metrics',
    {
      config: { unmetered: true },
      schema: {
        ...origin('tessera'),
        tags: ['Operations'],
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format. Needs `Authorization: Bearer <TESSERA_METRICS_TOKEN>` (not an API key); absent (404) unless TESSERA_METRICS_TOKEN is set.',
        security: [],
      },
    },
    async (request, reply) => {
      const sent = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
      if (sent === undefined || !digestsEqual(hashToken(sent), wanted)) {
        reply.header('www-authenticate', 'Bearer');
        throw new AppError('UNAUTHORIZED', 'Unauthorized', 'The metrics token is missing or wrong');
      }
      reply.header('cache-control', 'no-store').type(options.contentType);
      return options.text();
    },
  );
}
