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
  // An unbounded turn: with the default half a millisecond, a slow machine's pause between the two
  // calls would rightly defer the second grant to the next turn, which is not what this test is about.
  const lock = new FifoLock(Number.POSITIVE_INFINITY);
  await lock.acquire();
  lock.release();
  let taken = false;
  void lock.acquire().then(() => {
    taken = true;
  });
  await Promise.resolve();
  assert.equal(taken, true);
});

/** Resolves after everything queued for the event loop's current check phase, and one more poll. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('a free lock is taken at once while the turn has time left', async () => {
  const lock = new FifoLock(Number.POSITIVE_INFINITY);
  const order: string[] = [];
  setImmediate(() => order.push('turn'));
  await lock.acquire();
  order.push('granted');
  lock.release();
  await lock.acquire();
  order.push('granted again');
  await nextTurn();
  assert.deepEqual(order, ['granted', 'granted again', 'turn']);
});

test('once the turn has used its time, a waiter is handed the lock only after the event loop had a turn', async () => {
  const lock = new FifoLock(0);
  const order: string[] = [];
  await lock.acquire();
  const waiter = lock.acquire().then(() => order.push('granted'));
  // Queued before the release: under the old hand-over the waiter would come first.
  setImmediate(() => order.push('turn'));
  lock.release();
  await waiter;
  assert.deepEqual(order, ['turn', 'granted']);

  // The same with time left in the turn: handed over straight away.
  const roomy = new FifoLock(Number.POSITIVE_INFINITY);
  const roomyOrder: string[] = [];
  await roomy.acquire();
  const roomyWaiter = roomy.acquire().then(() => roomyOrder.push('granted'));
  setImmediate(() => roomyOrder.push('turn'));
  roomy.release();
  await roomyWaiter;
  await nextTurn();
  assert.deepEqual(roomyOrder, ['granted', 'turn']);
});

test('a free lock asked for after the turn has used its time is granted on the next turn, in arrival order', async () => {
  const lock = new FifoLock(0);
  await lock.acquire();
  lock.release();
  const order: string[] = [];
  setImmediate(() => order.push('turn'));
  const first = lock.acquire().then(() => {
    order.push('first');
    lock.release();
  });
  const second = lock.acquire().then(() => {
    order.push('second');
    lock.release();
  });
  await Promise.all([first, second]);
  assert.deepEqual(order, ['turn', 'first', 'second']);
  // Nothing is left held: a later caller gets it.
  await nextTurn();
  await lock.acquire();
});
