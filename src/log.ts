import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import pino from 'pino';
import type { LogLevel } from './config.js';
import { redactTokens } from './crypto/tokens.js';

/**
 * Paths pino blanks before a line is written. Request bodies and headers are never logged by
 * our serializers; these are the second fence, should anything put one on a log line.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'apiKey',
  'secret',
  'value',
  'masterKey',
  'body',
  '*.token',
  '*.apiKey',
  '*.secret',
  '*.value',
  '*.masterKey',
  '*.body',
];

export type LogDestination = { write(line: string): void };

export function loggerOptions(level: LogLevel, stream?: LogDestination): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      // The method, the route and the client: nothing more of a request. The route's pattern
      // (`/api/v1/secrets/:tagOrId`), not its path: whatever a client puts in a path (a secret
      // value in place of a tag, by mistake) is not written to the log. A path that matched no
      // route is logged without its query string and with anything token-like redacted.
      req: (request: {
        method: string;
        url: string;
        ip?: string;
        routeOptions?: { url?: string | undefined };
      }) => {
        const route = request.routeOptions?.url;
        return route === undefined
          ? { method: request.method, path: redactTokens(request.url.split('?')[0] ?? ''), ip: request.ip }
          : { method: request.method, route, ip: request.ip };
      },
    },
    ...(stream === undefined ? {} : { stream }),
  };
}

/** Health probes arrive every few seconds; logging each would drown the useful lines. */
const UNLOGGED_PATHS = new Set(['/healthz', '/readyz']);

/**
 * One line per request, written when the response is done: what was asked, the answer and how
 * long it took. (Fastify's own request logging writes two lines per request, which at the default
 * level cost about a third of the throughput: see docs/performance.md.)
 */
export function registerRequestLog(server: FastifyInstance): void {
  const lines = requestLineLogger(server.log);
  server.addHook('onResponse', (request, reply, done) => {
    // Below the info level (the bench's, a quiet deployment's) nothing is built for a line.
    if (lines.isLevelEnabled('info') && !UNLOGGED_PATHS.has(request.url)) {
      lines.info(
        { requestId: request.id, req: request, res: reply, responseTime: reply.elapsedTime },
        'request completed',
      );
    }
    done();
  });
}

/**
 * The request lines' own logger: the server's level, serializers and destination, without the
 * redaction paths. pino's redaction interprets each of its paths on every line it writes: more
 * than half of a request line's cost (3.5 of 6.2 µs, measured), on every request at the default
 * level. A request line holds only what the serializers above build (the method, the route
 * pattern or a token-redacted path, the client address; the status; the time), so the fence has
 * nothing to catch there; every other line keeps it. Same destination, so lines stay in order.
 */
function requestLineLogger(server: FastifyBaseLogger): pino.Logger {
  const { serializersSym, streamSym } = pino.symbols;
  const internals = server as unknown as Record<symbol, unknown>;
  return pino(
    { level: server.level, serializers: internals[serializersSym] as pino.LoggerOptions['serializers'] },
    internals[streamSym] as pino.DestinationStream,
  );
}
