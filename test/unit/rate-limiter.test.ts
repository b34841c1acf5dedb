/** The in-memory limiter (src/http/rate-limiter.ts): fixed one-minute windows per key. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryRateLimiter } from '../../src/http/rate-limiter.js';

function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

test('allows `limit` requests a window, then refuses, counting down remaining', async () => {
  const time = clock();
  const limiter = createMemoryRateLimiter(3, time.now);
  const decisions = [];
  for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('key:a'));
  assert.deepEqual(
    decisions.map((d) => [d.allowed, d.remaining, d.limit]),
    [
      [true, 2, 3],
      [true, 1, 3],
      [true, 0, 3],
      [false, 0, 3],
    ],
  );
});

test('keys are independent', async () => {
  const limiter = createMemoryRateLimiter(1, clock().now);
  assert.equal((await limiter.consume('key:a')).allowed, true);
  assert.equal((await limiter.consume('key:a')).allowed, false);
  assert.equal((await limiter.consume('key:b')).allowed, true);
  assert.equal((await limiter.consume('ip:127.0.0.1')).allowed, true);
});

test('resetSeconds counts down to the end of the window, never below 1', async () => {
  const time = clock();
  const limiter = createMemoryRateLimiter(100, time.now);
  assert.equal((await limiter.consume('k')).resetSeconds, 60);
  time.advance(30_500);
  assert.equal((await limiter.consume('k')).resetSeconds, 30);
  time.advance(29_400);
  assert.equal((await limiter.consume('k')).resetSeconds, 1);
});

test('a new window starts after a minute', async () => {
  const time = clock();
  const limiter = createMemoryRateLimiter(1, time.now);
  await limiter.consume('k');
  assert.equal((await limiter.consume('k')).allowed, false);
  time.advance(59_999);
  assert.equal((await limiter.consume('k')).allowed, false);
  time.advance(1);
  const fresh = await limiter.consume('k');
  assert.equal(fresh.allowed, true);
  assert.equal(fresh.resetSeconds, 60);
});
