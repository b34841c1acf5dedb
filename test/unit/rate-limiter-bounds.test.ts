/**
 * What the failed-authentication budget needs of a RateLimiter (src/http/rate-limiter.ts,
 * src/cluster/redis.ts): `consume` counts and judges in one step, so concurrent calls on one key
 * admit exactly the limit, and the memory limiter stays bounded under a spray of new keys,
 * dropping the oldest windows first. The Redis limiter runs against a real Redis when
 * TEST_REDIS_URL is set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRedisRateLimiter } from '../../src/cluster/redis.js';
import { createMemoryRateLimiter, type RateLimiter } from '../../src/http/rate-limiter.js';
import { NEEDS_REDIS, patientRedis } from '../helpers/redis.js';

function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** consume's contract, for any limiter with a budget of 2 on a fresh key. */
async function assertConsumeCountsAndJudges(limiter: RateLimiter, key: string) {
  const first = await limiter.consume(key);
  assert.deepEqual([first.allowed, first.remaining, first.limit], [true, 1, 2]);
  assert.ok(first.resetSeconds >= 59 && first.resetSeconds <= 60, `${first.resetSeconds}`);
  const second = await limiter.consume(key);
  assert.deepEqual([second.allowed, second.remaining], [true, 0]);
  const third = await limiter.consume(key);
  assert.deepEqual([third.allowed, third.remaining], [false, 0]);
  assert.ok(third.resetSeconds >= 1 && third.resetSeconds <= 60);
}

/** `count` consumes on one key, all started before any is answered: how many were allowed. */
async function allowedAtOnce(limiter: RateLimiter, key: string, count: number): Promise<number> {
  const decisions = await Promise.all(Array.from({ length: count }, () => limiter.consume(key)));
  return decisions.filter((decision) => decision.allowed).length;
}

/**
 * A call's own limit (an API key's rateLimitPerMinute) judges its key's count instead of the
 * default, and other keys keep the default: the limiter has a default of 100 here.
 */
async function assertPerCallLimit(limiter: RateLimiter, suffix: string) {
  const own = `key:own-${suffix}`;
  const other = `key:other-${suffix}`;
  const decisions = [];
  for (let i = 0; i < 4; i++) decisions.push(await limiter.consume(own, 3));
  assert.deepEqual(
    decisions.map((d) => [d.allowed, d.limit, d.remaining]),
    [
      [true, 3, 2],
      [true, 3, 1],
      [true, 3, 0],
      [false, 3, 0],
    ],
  );
  const elsewhere = await limiter.consume(other);
  assert.deepEqual([elsewhere.allowed, elsewhere.limit, elsewhere.remaining], [true, 100, 99]);
  // A higher limit given later judges the same count: the key's window is not reset.
  const raised = await limiter.consume(own, 10);
  assert.deepEqual([raised.allowed, raised.limit, raised.remaining], [true, 10, 5]);
}

describe('memory limiter', () => {
  test("a call's own limit judges its key, the default the others", async () => {
    await assertPerCallLimit(createMemoryRateLimiter(100, clock().now), 'memory');
  });

  test('consume counts and judges in one step', async () => {
    await assertConsumeCountsAndJudges(createMemoryRateLimiter(2, clock().now), 'authfail:192.0.2.1');
  });

  test('concurrent consumes on one key admit exactly the limit', async () => {
    assert.equal(await allowedAtOnce(createMemoryRateLimiter(5, clock().now), 'authfail:192.0.2.2', 200), 5);
  });

  test('a spent window ends with the minute', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter(1, time.now);
    await limiter.consume('k');
    assert.equal((await limiter.consume('k')).allowed, false);
    time.advance(60_000);
    assert.equal((await limiter.consume('k')).allowed, true);
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
    // Each probe spends one more; a live window of a budget of 1 refuses it, a fresh one admits it.
    for (const key of ['d', 'e', 'f']) assert.equal((await limiter.consume(key)).allowed, false, key);
    assert.equal((await limiter.consume('a')).allowed, true, 'a was dropped');
  });

  test('a spray of fresh keys stays within the bound and keeps counting', async () => {
    const limiter = createMemoryRateLimiter(1, clock().now, 1_000);
    for (let i = 0; i < 20_000; i++) await limiter.consume(`ip:${i}`);
    // The most recent 1000 are still refused; anything older was forgotten. (The last probe opens
    // a window of its own, so it goes last.)
    assert.equal((await limiter.consume('ip:19999')).allowed, false);
    assert.equal((await limiter.consume('ip:19000')).allowed, false);
    assert.equal((await limiter.consume('ip:18999')).allowed, true);
  });
});

describe('Redis limiter', { skip: NEEDS_REDIS }, () => {
  const { redis, ready } = patientRedis();
  before(ready);
  after(() => redis.disconnect());
  const quiet = { warn: () => {}, info: () => {} };

  test("a call's own limit judges its key, the default the others, in Redis and in its fallback", async () => {
    const id = randomBytes(6).toString('hex');
    await assertPerCallLimit(createRedisRateLimiter(redis, 100, createMemoryRateLimiter(100), quiet), id);
    assert.equal(await redis.get(`tessera:rl:key:own-${id}`), '5', 'counted in Redis');
    // Redis unreachable: the fallback judges by the call's limit too.
    const down = { eval: () => Promise.reject(new Error('down')) } as unknown as typeof redis;
    await assertPerCallLimit(createRedisRateLimiter(down, 100, createMemoryRateLimiter(100), quiet), id);
  });

  test('consume counts and judges in one step, in Redis', async () => {
    const limiter = createRedisRateLimiter(redis, 2, createMemoryRateLimiter(2), quiet);
    const key = `authfail:test-${randomBytes(6).toString('hex')}`;
    await assertConsumeCountsAndJudges(limiter, key);
    assert.equal(await redis.get(`tessera:rl:${key}`), '3', 'counted in Redis, not in the fallback');
  });

  test('200 concurrent consumes on a budget of 5 admit exactly 5', async () => {
    // A fallback that admits nothing: a command given up under load cannot add an admission.
    const limiter = createRedisRateLimiter(redis, 5, createMemoryRateLimiter(0), quiet);
    const key = `authfail:test-${randomBytes(6).toString('hex')}`;
    assert.equal(await allowedAtOnce(limiter, key, 200), 5);
    assert.equal(await redis.get(`tessera:rl:${key}`), '200');
  });

  test('two limiters on one Redis share a key, as two nodes do', async () => {
    const key = `authfail:test-${randomBytes(6).toString('hex')}`;
    const nodeA = createRedisRateLimiter(redis, 2, createMemoryRateLimiter(2), quiet);
    const nodeB = createRedisRateLimiter(redis, 2, createMemoryRateLimiter(2), quiet);
    await nodeA.consume(key);
    await nodeA.consume(key);
    assert.equal((await nodeB.consume(key)).allowed, false);
  });
});
