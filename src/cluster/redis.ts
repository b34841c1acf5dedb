import { Redis } from 'ioredis';
import { type RateDecision, type RateLimiter, WINDOW_MS } from '../http/rate-limiter.js';
import type { InvalidationBus } from './invalidation-bus.js';

export interface Warn {
  warn(message: string): void;
  info(message: string): void;
}

/**
 * Connections to Redis that fail fast: a command waits at most 250 ms and none is queued while
 * disconnected, so Redis being down degrades the service (per-node limits, no token cache)
 * instead of stalling it. ioredis reconnects in the background.
 */
export function connectRedis(url: string): Redis {
  return new Redis(url, {
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
 * One budget per credential across the fleet. While Redis is unreachable each node falls back to
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
  async function consume(key: string): Promise<RateDecision> {
    let count: number;
    let ttl: number;
    try {
      [count, ttl] = (await redis.eval(CONSUME, 1, `tessera:rl:${key}`, WINDOW_MS)) as [number, number];
    } catch {
      if (!degraded) {
        degraded = true;
        log.warn('Redis is unreachable: rate limiting per node until it returns');
      }
      return fallback.consume(key);
    }
    if (degraded) {
      degraded = false;
      log.info('Redis is back: rate limits are shared across nodes again');
    }
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
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

const CHANNEL = 'tessera:api-key-changed';
/** The subscriber connection is pinged this often ... */
const PING_EVERY_MS = 250;
/** ... and counts as down once it has not answered for this long (a partition closes nothing). */
const SILENT_MS = 1_000;

/**
 * Key-change notices over Redis pub/sub; unhealthy while the subscriber is not connected, and
 * while it is connected but silent (Redis unreachable without the connection closing: a network
 * partition, a hung server), since notices may then be lost without any error.
 */
export function createRedisBus(url: string, log: Warn): InvalidationBus {
  const publisher = connectRedis(url);
  const subscriber = connectRedis(url);
  const listeners: ((cid: string) => void)[] = [];
  const reconnectListeners: (() => void)[] = [];
  let subscribed = false;
  let everSubscribed = false;
  /** When the subscriber connection last proved it delivers (subscribe reply, message, pong). */
  let lastHeard = 0;
  let silent = false;

  const heard = () => {
    const now = Date.now();
    if (subscribed && (silent || now - lastHeard >= SILENT_MS)) {
      if (silent) log.info('key-change channel answers again: token cache re-enabled');
      silent = false;
      // Notices may have been lost meanwhile: nothing cached before can be trusted.
      for (const listener of reconnectListeners) listener();
    }
    lastHeard = now;
  };

  subscriber.on('message', (_channel: string, cid: string) => {
    heard();
    for (const listener of listeners) listener(cid);
  });
  subscriber.on('ready', () => {
    subscriber.subscribe(CHANNEL).then(
      () => {
        subscribed = true;
        silent = false;
        lastHeard = Date.now();
        if (everSubscribed) {
          log.info('key-change channel is back: token cache re-enabled');
          for (const listener of reconnectListeners) listener();
        }
        everSubscribed = true;
      },
      () => {
        subscribed = false;
      },
    );
  });
  const down = () => {
    if (subscribed) log.warn('key-change channel is down: token cache disabled until it returns');
    subscribed = false;
    silent = false;
  };
  subscriber.on('close', down);
  subscriber.on('end', down);
  subscriber.on('error', () => {});
  publisher.on('error', () => {});

  const pinger = setInterval(() => {
    if (!subscribed || subscriber.status !== 'ready') return;
    if (!silent && Date.now() - lastHeard >= SILENT_MS) {
      silent = true;
      log.warn('key-change channel is not answering: token cache disabled until it does');
    }
    subscriber.ping().then(heard, () => {});
  }, PING_EVERY_MS);
  pinger.unref();

  return {
    async publish(cid) {
      // Our own subscriber delivers it to this node too.
      await publisher.publish(CHANNEL, cid);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    healthy: () => subscribed && subscriber.status === 'ready' && Date.now() - lastHeard < SILENT_MS,
    async close() {
      clearInterval(pinger);
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
