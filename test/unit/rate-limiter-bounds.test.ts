/**
 * What the failed-authentication budget needs of a RateLimiter (src/http/rate-limiter.ts,
 * src/cluster/redis.ts): `peek` reports a window without spending it, and the memory limiter
 * stays bounded under a spray of new keys, dropping the oldest windows first. The Redis limiter
 * runs against a real Redis when TEST_REDIS_URL is set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { connectRedis, createRedisRateLimiter } from '../../src/cluster/redis.js';
import { createMemoryRateLimiter, type RateLimiter } from '../../src/http/rate-limiter.js';

function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** peek's contract, for any limiter with a budget of 2 on fresh keys. */
async function assertPeekSpendsNothing(limiter: RateLimiter, key: string) {
  const fresh = await limiter.peek(key);
  assert.deepEqual([fresh.allowed, fresh.remaining, fresh.limit], [true, 2, 2]);
  assert.ok(fresh.resetSeconds >= 59 && fresh.resetSeconds <= 60, `${fresh.resetSeconds}`);
  for (let i = 0; i < 5; i++) await limiter.peek(key);
  assert.equal((await limiter.consume(key)).remaining, 1);
  assert.deepEqual(
    [(await limiter.peek(key)).allowed, (await limiter.peek(key)).remaining],
    [true, 1],
    'one left',
  );
  await limiter.consume(key);
  const spent = await limiter.peek(key);
  assert.deepEqual([spent.allowed, spent.remaining], [false, 0]);
  assert.ok(spent.resetSeconds >= 1 && spent.resetSeconds <= 60);
}

describe('memory limiter', () => {
  test('peek reports the window without spending it', async () => {
    await assertPeekSpendsNothing(createMemoryRateLimiter(2, clock().now), 'authfail:192.0.2.1');
  });

  test('peek sees a spent window end with the minute', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter(1, time.now);
    await limiter.consume('k');
    assert.equal((await limiter.peek('k')).allowed, false);
    time.advance(60_000);
    assert.deepEqual((await limiter.peek('k')).allowed, true);
  });

  test('bounded: past maxKeys the oldest windows are dropped first, live or not', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter(1, time.now, 3);
    for (const key of ['a', 'b', 'c']) await limiter.consume(key);
    // 'a' is renewed after its window ends, so it becomes the newest.
    time.advance(60_000);
    await limiter.consume('a');
    await limiter.consume('d'); // b and c expired: dropped; a and d live
    await limiter.consume('e'); // three live windows: a, d, e
    await limiter.consume('f'); // full: the oldest live one (a) goes
    assert.equal((await limiter.peek('a')).allowed, true, 'a was dropped');
    for (const key of ['d', 'e', 'f']) assert.equal((await limiter.peek(key)).allowed, false, key);
  });

  test('a spray of fresh keys stays within the bound and keeps counting', async () => {
    const limiter = createMemoryRateLimiter(1, clock().now, 1_000);
    for (let i = 0; i < 20_000; i++) await limiter.consume(`ip:${i}`);
    // The most recent 1000 are still refused; anything older was forgotten.
    assert.equal((await limiter.peek('ip:19999')).allowed, false);
    assert.equal((await limiter.peek('ip:19000')).allowed, false);
    assert.equal((await limiter.peek('ip:18999')).allowed, true);
  });
});

describe('Redis limiter', () => {
  const url = process.env.TEST_REDIS_URL;
  if (url === undefined || url === '') {
    test('skipped: needs TEST_REDIS_URL (a Redis server)', { skip: true }, () => {});
    return;
  }
  const redis = connectRedis(url);
  // Commands are not queued while connecting (they would fall back to memory): wait for it.
  before(async () => {
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  after(() => redis.disconnect());
  const quiet = { warn: () => {}, info: () => {} };

  test('peek reports the shared window without spending it', async () => {
    const limiter = createRedisRateLimiter(redis, 2, createMemoryRateLimiter(2), quiet);
    const key = `authfail:test-${randomBytes(6).toString('hex')}`;
    await assertPeekSpendsNothing(limiter, key);
    assert.equal(await redis.get(`tessera:rl:${key}`), '2', 'counted in Redis, not in the fallback');
  });

  test('two limiters on one Redis share a key, as two nodes do', async () => {
    const key = `authfail:test-${randomBytes(6).toString('hex')}`;
    const nodeA = createRedisRateLimiter(redis, 2, createMemoryRateLimiter(2), quiet);
    const nodeB = createRedisRateLimiter(redis, 2, createMemoryRateLimiter(2), quiet);
    await nodeA.consume(key);
    await nodeA.consume(key);
    assert.equal((await nodeB.peek(key)).allowed, false);
  });
});
