/**
 * What the workers of one server (TESSERA_WORKERS) share through the primary: the primary's hub
 * and the workers' rate limiters and change-notice bus, as the server wires them, joined by an
 * in-process line that delivers like IPC does (a copy of each message, on a later turn).
 * test/process/workers.test.ts runs the same parts in real processes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ToPrimary, ToWorker, WorkerChannel } from '../../src/cluster/ipc.js';
import { createIpcNoticeBus } from '../../src/cluster/ipc-notice-bus.js';
import { createPrimaryHub, type WorkerEnd } from '../../src/cluster/primary-hub.js';
import { createSharedRateLimiter } from '../../src/cluster/shared-rate-limiter.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
/** Messages between the workers and the primary sent but not yet delivered (see fleet). */
let inFlight = 0;
/**
 * Until the workers' 20 ms reports are sent and every message they cause has been delivered. The
 * wait lets the report timers fire (they were set first, so they fire first); the drain does not
 * count on time: on a loaded machine both timers fire in one go, before any delivery.
 */
async function settle() {
  await new Promise((resolve) => setTimeout(resolve, 60));
  while (inFlight > 0) await nextTurn();
}

/** Delivers on a later turn, as IPC does, counted in `inFlight` until it has been. */
function later(deliver: () => void) {
  inFlight++;
  setImmediate(() => {
    inFlight--;
    deliver();
  });
}

function fleet() {
  const hub = createPrimaryHub();
  const ends: WorkerEnd[] = [];
  const sent: ToPrimary[] = [];
  function worker(): WorkerChannel & { disconnect(): void } {
    const listeners: ((message: ToWorker) => void)[] = [];
    let connected = true;
    const end: WorkerEnd = {
      send: (message) => {
        const copy = structuredClone(message);
        later(() => {
          if (connected) for (const listener of listeners) listener(copy);
        });
      },
    };
    ends.push(end);
    return {
      send(message) {
        if (!connected) return;
        sent.push(message);
        const copy = structuredClone(message);
        later(() => hub.receive(end, copy, ends));
      },
      onMessage: (listener) => void listeners.push(listener),
      connected: () => connected,
      disconnect() {
        connected = false;
      },
    };
  }
  return { hub, worker, sent };
}

describe('workers sharing rate limits through the primary', () => {
  test('a worker counts what the others admitted once their reports are in', async () => {
    const { worker } = fleet();
    const a = createSharedRateLimiter({ name: 'requests', limit: 10, channel: worker(), reportMs: 20 });
    const b = createSharedRateLimiter({ name: 'requests', limit: 10, channel: worker(), reportMs: 20 });
    for (let i = 0; i < 6; i++) assert.equal((await a.consume('key:ak1')).allowed, true);
    await settle();
    // B has admitted nothing itself, yet counts A's six before its own first.
    const seen = await b.consume('key:ak1');
    assert.equal(seen.remaining, 3);
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push((await b.consume('key:ak1')).allowed);
    assert.deepEqual(decisions, [true, true, true, false, false]);
    await settle();
    assert.equal((await a.consume('key:ak1')).allowed, false, 'A hears that B spent the rest');
    // Other keys have budgets of their own.
    assert.equal((await a.consume('key:ak2')).allowed, true);
  });

  test("a key's own limit judges the fleet's count on every worker", async () => {
    const { worker } = fleet();
    const a = createSharedRateLimiter({ name: 'requests', limit: 100, channel: worker(), reportMs: 20 });
    const b = createSharedRateLimiter({ name: 'requests', limit: 100, channel: worker(), reportMs: 20 });
    assert.equal((await a.consume('key:own', 3)).allowed, true);
    assert.equal((await a.consume('key:own', 3)).allowed, true);
    await settle();
    const third = await b.consume('key:own', 3);
    assert.deepEqual([third.allowed, third.limit, third.remaining], [true, 3, 0]);
    const fourth = await b.consume('key:own', 3);
    assert.deepEqual([fourth.allowed, fourth.limit], [false, 3]);
    // Another key on the same workers keeps the default.
    const other = await b.consume('key:other');
    assert.deepEqual([other.allowed, other.limit, other.remaining], [true, 100, 99]);
  });

  test("exact: a call judged on the primary's count uses its own limit", async () => {
    const { worker } = fleet();
    const options = { name: 'authFailures', limit: 100, reportMs: 0, exact: true } as const;
    const a = createSharedRateLimiter({ ...options, channel: worker() });
    const b = createSharedRateLimiter({ ...options, channel: worker() });
    const decisions = await Promise.all([
      a.consume('k', 2),
      b.consume('k', 2),
      a.consume('k', 2),
      b.consume('k', 2),
    ]);
    assert.equal(decisions.filter((d) => d.allowed).length, 2);
    assert.ok(decisions.every((d) => d.limit === 2));
  });

  test('between reports the overshoot is bounded by what each worker admits alone', async () => {
    const { worker } = fleet();
    const a = createSharedRateLimiter({ name: 'requests', limit: 10, channel: worker(), reportMs: 20 });
    const b = createSharedRateLimiter({ name: 'requests', limit: 10, channel: worker(), reportMs: 20 });
    let admitted = 0;
    // Both workers take a burst in the same instant: neither has heard of the other's yet.
    for (let i = 0; i < 8; i++) {
      if ((await a.consume('key:burst')).allowed) admitted++;
      if ((await b.consume('key:burst')).allowed) admitted++;
    }
    assert.equal(admitted, 16, 'each worker alone was within the limit');
    await settle();
    assert.equal((await a.consume('key:burst')).allowed, false);
    assert.equal((await b.consume('key:burst')).allowed, false);
  });

  test('a spent failure budget is refused on every worker, even one that never saw the client', async () => {
    const { worker } = fleet();
    const channels = [worker(), worker(), worker()];
    const [a, b, c] = channels.map((channel) =>
      createSharedRateLimiter({ name: 'authFailures', limit: 3, channel, reportMs: 0 }),
    );
    assert.ok(a && b && c);
    for (let i = 0; i < 3; i++) await a.consume('authfail:192.0.2.7');
    // One report and one piece of news: a few turns, no timer.
    for (let i = 0; i < 5; i++) await nextTurn();
    assert.equal((await b.consume('authfail:192.0.2.7')).allowed, false);
    assert.equal((await c.consume('authfail:192.0.2.7')).allowed, false);
    assert.equal((await c.consume('authfail:192.0.2.8')).allowed, true, 'another client is unaffected');
  });

  test('exact: concurrent failures spread over three workers spend the budget exactly once', async () => {
    const { worker } = fleet();
    const limiters = [worker(), worker(), worker()].map((channel) =>
      createSharedRateLimiter({ name: 'authFailures', limit: 4, channel, reportMs: 0, exact: true }),
    );
    // Five guesses on each worker in the same instant: no worker has heard of another's yet.
    const decisions = await Promise.all(
      limiters.flatMap((limiter) => Array.from({ length: 5 }, () => limiter.consume('authfail:192.0.2.5'))),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 4);
    // Each was told its own place in the window: remaining 3, 2, 1, 0, then 0 for the rest.
    assert.deepEqual(
      decisions.map((d) => d.remaining).sort((a, b) => b - a),
      [3, 2, 1, ...Array(12).fill(0)],
    );
    for (const limiter of limiters)
      assert.equal((await limiter.consume('authfail:192.0.2.5')).allowed, false);
  });

  test('exact: without a line to the primary a worker decides alone, at once', async () => {
    const { worker } = fleet();
    const channel = worker();
    const limiter = createSharedRateLimiter({
      name: 'authFailures',
      limit: 1,
      channel,
      reportMs: 0,
      exact: true,
    });
    channel.disconnect();
    const first = limiter.consume('authfail:192.0.2.6');
    assert.ok(!(first instanceof Promise), 'answered at once');
    assert.equal(first.allowed, true);
    assert.equal((await limiter.consume('authfail:192.0.2.6')).allowed, false);
  });

  test('the request and failure budgets are counted apart', async () => {
    const { worker } = fleet();
    const channel = worker();
    const requests = createSharedRateLimiter({ name: 'requests', limit: 100, channel, reportMs: 0 });
    const failures = createSharedRateLimiter({ name: 'authFailures', limit: 2, channel, reportMs: 0 });
    for (let i = 0; i < 5; i++) await requests.consume('ip:192.0.2.9');
    await settle();
    assert.equal((await failures.consume('ip:192.0.2.9')).remaining, 1);
    assert.equal((await requests.consume('ip:192.0.2.9')).remaining, 94);
  });

  test('reports are batched: one message per interval, whatever the number of requests', async () => {
    const { worker, sent } = fleet();
    const a = createSharedRateLimiter({ name: 'requests', limit: 1000, channel: worker(), reportMs: 20 });
    for (let i = 0; i < 200; i++) await a.consume(`key:ak${i % 3}`);
    await settle();
    const spends = sent.filter((m) => m.tessera === 'spend');
    assert.equal(spends.length, 1);
    assert.deepEqual(spends[0]?.tessera === 'spend' ? spends[0].spent.sort() : [], [
      ['key:ak0', 67],
      ['key:ak1', 67],
      ['key:ak2', 66],
    ]);
  });

  test('the primary ignores what is not a well-formed report', async () => {
    const { hub } = fleet();
    const answers: ToWorker[] = [];
    const end: WorkerEnd = { send: (m) => void answers.push(m) };
    const junk = [
      { tessera: 'spend', limiter: '__proto__', spent: [['k', 1]] },
      { tessera: 'spend', limiter: 'toString', spent: [['k', 1]] },
      { tessera: 'spend', limiter: 'requests', spent: 'k' },
      { tessera: 'invalidate', owner: 42 },
    ] as unknown as ToPrimary[];
    for (const message of junk) hub.receive(end, message, [end]);
    assert.equal(answers.length, 0, 'nothing answered, nothing relayed');
    hub.receive(
      end,
      {
        tessera: 'spend',
        limiter: 'requests',
        spent: [
          ['k', -5],
          ['k', 1.5],
          ['k', 2],
        ],
      },
      [end],
    );
    assert.equal(answers.length, 1);
    const answer = answers[0];
    assert.ok(answer?.tessera === 'counts');
    assert.deepEqual(
      answer.counts.map(([key, count]) => [key, count]),
      [['k', 2]],
    );
  });
});

describe('change notices between workers', () => {
  test('a notice published on one worker reaches every other worker once, and its own listeners', async () => {
    const { worker } = fleet();
    const buses = [createIpcNoticeBus(worker()), createIpcNoticeBus(worker()), createIpcNoticeBus(worker())];
    const heard = buses.map(() => [] as string[]);
    buses.forEach((bus, i) => {
      bus.subscribe((owner) => void heard[i]?.push(owner));
    });
    await buses[1]?.publish('ak0123456789abcdef');
    for (let i = 0; i < 3; i++) await nextTurn();
    assert.deepEqual(heard, [['ak0123456789abcdef'], ['ak0123456789abcdef'], ['ak0123456789abcdef']]);
  });

  test('a worker whose line to the primary is down reports itself unhealthy (its cache is bypassed)', () => {
    const { worker } = fleet();
    const channel = worker();
    const bus = createIpcNoticeBus(channel);
    assert.equal(bus.healthy(), true);
    channel.disconnect();
    assert.equal(bus.healthy(), false);
  });
});
