import { once } from 'node:events';
import { Redis } from 'ioredis';

/** Why a test that needs a Redis server skips (TEST_REDIS_URL unset), or false when it runs. */
export const NEEDS_REDIS = process.env.TEST_REDIS_URL ? false : 'needs TEST_REDIS_URL (a Redis server)';

/**
 * A connection to TEST_REDIS_URL for tests that count on Redis answering: not connectRedis, whose
 * 250 ms command timeout falls back to counting in memory, which a loaded test machine must not
 * turn into a different count. Commands are not queued while it connects: await `ready` first.
 */
export function patientRedis(): { redis: Redis; ready: () => Promise<void> } {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error(NEEDS_REDIS || 'TEST_REDIS_URL is empty');
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 10_000,
  });
  return {
    redis,
    ready: async () => {
      if (redis.status !== 'ready') await once(redis, 'ready');
    },
  };
}
