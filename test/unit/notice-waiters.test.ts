/**
 * NoticeWaiters (src/cluster/notice-waiters.ts): a wait ends on an accepted notice, never on
 * another; a notice that arrived after the ticket was taken ends the wait at once (nothing is
 * missed between a look and the wait); close() ends every wait and any later one; the bound on
 * waiters is kept. Every wait here has a deadline far beyond the test, so only the event under
 * test can end it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChangeNoticeBus } from '../../src/cluster/change-notice-bus.js';
import { NoticeWaiters } from '../../src/cluster/notice-waiters.js';

const FOREVER = 600_000;

function fakeBus() {
  const listeners: ((owner: string) => void)[] = [];
  const reconnects: (() => void)[] = [];
  const bus: ChangeNoticeBus = {
    publish: async (owner) => {
      for (const listener of listeners) listener(owner);
    },
    subscribe: (l) => void listeners.push(l),
    onReconnect: (l) => void reconnects.push(l),
    healthy: () => true,
    close: async () => {},
  };
  const reconnect = () => {
    for (const listener of reconnects) listener();
  };
  return { bus, reconnect };
}

const waitersOn = (bus: ChangeNoticeBus, maxWaiters = 10) =>
  new NoticeWaiters(bus, {
    accepts: (owner) => owner.startsWith('se'),
    maxWaiters,
    pollMs: FOREVER,
    trustedPollMs: FOREVER,
  });

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

test('an accepted notice ends every wait; another notice ends none', async () => {
  const { bus } = fakeBus();
  const waiters = waitersOn(bus);
  const waits = [waiters.wait(FOREVER, waiters.ticket()), waiters.wait(FOREVER, waiters.ticket())];
  await bus.publish('ak0123456789abcdef');
  assert.equal(await settled(Promise.race(waits)), false, 'a key notice woke a feed waiter');
  assert.equal(waiters.hasRoom(), true);
  await bus.publish('se0123456789abcdef');
  assert.equal(await settled(Promise.all(waits)), true);
  waiters.close();
});

test('a notice between the ticket and the wait ends the wait at once', async () => {
  const { bus } = fakeBus();
  const waiters = waitersOn(bus);
  const ticket = waiters.ticket();
  await bus.publish('se0123456789abcdef');
  assert.equal(await settled(waiters.wait(FOREVER, ticket)), true);
  waiters.close();
});

test('a reconnect of the bus wakes every waiter (notices may have been lost)', async () => {
  const { bus, reconnect } = fakeBus();
  const waiters = waitersOn(bus);
  const wait = waiters.wait(FOREVER, waiters.ticket());
  reconnect();
  assert.equal(await settled(wait), true);
  waiters.close();
});

test('close() ends every wait, and later ones at once; an abort ends its own wait', async () => {
  const { bus } = fakeBus();
  const waiters = waitersOn(bus);
  const aborted = new AbortController();
  const own = waiters.wait(FOREVER, waiters.ticket(), aborted.signal);
  const other = waiters.wait(FOREVER, waiters.ticket());
  aborted.abort();
  assert.equal(await settled(own), true);
  assert.equal(await settled(other), false);
  waiters.close();
  assert.equal(waiters.closed, true);
  assert.equal(await settled(other), true);
  assert.equal(await settled(waiters.wait(FOREVER, waiters.ticket())), true);
});

test('the bound on waiters', async () => {
  const { bus } = fakeBus();
  const waiters = waitersOn(bus, 2);
  const waits = [waiters.wait(FOREVER, waiters.ticket()), waiters.wait(FOREVER, waiters.ticket())];
  assert.equal(waiters.hasRoom(), false);
  await bus.publish('se0123456789abcdef');
  await Promise.all(waits);
  assert.equal(waiters.hasRoom(), true, 'a finished wait frees its place');
  waiters.close();
});
