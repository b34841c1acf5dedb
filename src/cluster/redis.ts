import { Redis, type RedisOptions } from 'ioredis';
import { type RateDecision, type RateLimiter, WINDOW_MS } from '../http/rate-limiter.js';

export interface Warn {
  warn(message: string): void;
  info(message: string): void;
}

/**
 * Connections to Redis that fail fast: a command waits at most 250 ms and none is queued while
 * disconnected, so Redis being down degrades the service (per-node limits, caches bypassed)
 * instead of stalling it. ioredis reconnects in the background.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    ...options,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 250,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

// INCR and set the expiry on the first hit of a window, atomically (a script runs alone), so the
// count it returns is this request's own place in the window; returns [count, ms left].
const CONSUME = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

/**
 * One budget per credential across the fleet: the count is Redis's, the limit the caller's (a
 * key's own, or `limit`). While Redis is unreachable each node falls back to
 * its own in-memory limiter, logs one warning, and goes back to Redis when it returns.
 */
export function createRedisRateLimiter(
  redis: Redis,
  limit: number,
  fallback: RateLimiter,
  log: Warn,
): RateLimiter {
  let degraded = false;
  /** Counts one request on the key's counter: the decision from Redis, or the fallback's. */
  async function consume(key: string, keyLimit = limit): Promise<RateDecision> {
    let count: number;
    let ttl: number;
    try {
      [count, ttl] = (await redis.eval(CONSUME, 1, `tessera:rl:${key}`, WINDOW_MS)) as [number, number];
    } catch {
      if (!degraded) {
        degraded = true;
        log.warn('Redis is unreachable: rate limiting per node until it returns');
      }
      return fallback.consume(key, keyLimit);
    }
    if (degraded) {
      degraded = false;
      log.info('Redis is back: rate limits are shared across nodes again');
    }
    return {
      allowed: count <= keyLimit,
      limit: keyLimit,
      remaining: Math.max(0, keyLimit - count),
      resetSeconds: Math.max(1, Math.ceil(ttl / 1000)),
    };
  }
  return {
    consume,
    async close() {
      await fallback.close();
    },
  };
}
