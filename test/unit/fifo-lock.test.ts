import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FifoLock } from '../../src/db/sqlite-driver.js';

test('the lock is handed over in arrival order', async () => {
  const lock = new FifoLock();
  const order: number[] = [];
  await lock.acquire();
  const waiters = [1, 2, 3, 4].map((n) =>
    lock.acquire().then(() => {
      order.push(n);
      // Hand over on a later turn, as a query would.
      setImmediate(() => lock.release());
    }),
  );
  lock.release();
  await Promise.all(waiters);
  assert.deepEqual(order, [1, 2, 3, 4]);
});

test('a released lock with no waiters is free again', async () => {
  const lock = new FifoLock();
  await lock.acquire();
  lock.release();
  let taken = false;
  void lock.acquire().then(() => {
    taken = true;
  });
  await Promise.resolve();
  assert.equal(taken, true);
});
