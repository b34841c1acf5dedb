import { Redis } from 'ioredis';
import { freshDecision, type RateDecision, type RateLimiter, WINDOW_MS } from '../http/rate-limiter.js';
import type { MaybePromise } from '../runtime/maybe-promise.js';
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

// INCR and set the expiry on the first hit of a window, atomically; returns [count, ms left].
const CONSUME = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;
// The same pair without counting: [0, -2] when the window does not exist.
const PEEK = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
return {count, redis.call('PTTL', KEYS[1])}
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
  /** Runs `script` on the key's counter: a decision from [count, ms left], or the fallback's. */
  async function shared(
    script: string,
    key: string,
    decide: (count: number, ttl: number) => RateDecision,
    otherwise: () => MaybePromise<RateDecision>,
  ): Promise<RateDecision> {
    let result: [number, number];
    try {
      result = (await redis.eval(script, 1, `tessera:rl:${key}`, WINDOW_MS)) as [number, number];
    } catch {
      if (!degraded) {
        degraded = true;
        log.warn('Redis is unreachable: rate limiting per node until it returns');
      }
      return otherwise();
    }
    if (degraded) {
      degraded = false;
      log.info('Redis is back: rate limits are shared across nodes again');
    }
    return decide(...result);
  }
  const decision = (count: number, ttl: number, allowed: boolean): RateDecision => ({
    allowed,
    limit,
    remaining: Math.max(0, limit - count),
    resetSeconds: Math.max(1, Math.ceil(ttl / 1000)),
  });
  return {
    consume: (key) =>
      shared(
        CONSUME,
        key,
        (count, ttl) => decision(count, ttl, count <= limit),
        () => fallback.consume(key),
      ),
    peek: (key) =>
      shared(
        PEEK,
        key,
        (count, ttl) => (ttl < 0 ? freshDecision(limit) : decision(count, ttl, count < limit)),
        () => fallback.peek(key),
      ),
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
