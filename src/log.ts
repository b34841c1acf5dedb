import type { FastifyServerOptions } from 'fastify';
import type { LogLevel } from './config.js';

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
      // The path without its query string, the method and the client: nothing more of a request.
      req: (request: { method: string; url: string; ip?: string; id?: string }) => ({
        method: request.method,
        path: request.url.split('?')[0],
        ip: request.ip,
      }),
    },
    ...(stream === undefined ? {} : { stream }),
  };
}
