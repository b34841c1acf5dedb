/**
 * The change-notice bus on a real Redis, during the rolling upgrade that renamed its channel:
 * nodes of the previous release publish and listen on PREVIOUS_RELEASE_CHANNEL only, so this
 * release hears and speaks on both, and trusts its caches only while it holds both
 * subscriptions. The previous release is played by a plain Redis client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { ChangeNoticeBus } from '../../src/cluster/change-notice-bus.js';
import {
  CHANGES_CHANNEL,
  createRedisNoticeBus,
  PREVIOUS_RELEASE_CHANNEL,
} from '../../src/cluster/redis-notice-bus.js';
import { TokenCache } from '../../src/features/api-keys/token-cache.js';
import { NEEDS_REDIS, patientRedis } from '../helpers/redis.js';

const unique = (prefix: string) => `${prefix}${randomBytes(8).toString('hex')}`;

async function until(what: string, holds: () => boolean, withinMs = 5_000) {
  const deadline = Date.now() + withinMs;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A bus as a node of this release makes it, with the lines it logs. */
function node(url = process.env.TEST_REDIS_URL as string) {
  const lines: string[] = [];
  const bus = createRedisNoticeBus(url, {
    warn: (message) => void lines.push(`warn: ${message}`),
    info: (message) => void lines.push(`info: ${message}`),
  });
  return { bus, lines };
}

describe('change notices on Redis across the channel rename', { skip: NEEDS_REDIS }, () => {
  const { redis, ready } = patientRedis();
  const buses: ChangeNoticeBus[] = [];
  before(ready);
  after(async () => {
    for (const bus of buses) await bus.close();
    redis.disconnect();
  });

  test('a notice a previous-release node publishes on the old channel alone drops the entry here', async () => {
    const { bus } = node();
    buses.push(bus);
    await until('the bus listening', () => bus.healthy());
    const cache = new TokenCache(bus);
    const cid = unique('ak');
    cache.set('hash', { cid, customRoleTags: [] }, cache.ticket());
    assert.deepEqual(cache.get('hash'), { cid, customRoleTags: [] });

    await redis.publish(PREVIOUS_RELEASE_CHANNEL, cid);
    await until('the entry dropped', () => cache.get('hash') === undefined);
  });

  test('a notice of this release reaches the old channel, where previous-release nodes listen, and the new one', async () => {
    const { bus } = node();
    buses.push(bus);
    await until('the bus listening', () => bus.healthy());
    const listener = redis.duplicate();
    const heard: [channel: string, owner: string][] = [];
    listener.on('message', (channel: string, owner: string) => void heard.push([channel, owner]));
    const channelsOf = (owner: string) =>
      heard
        .filter(([, o]) => o === owner)
        .map(([channel]) => channel)
        .sort();
    try {
      if (listener.status !== 'ready') await once(listener, 'ready');
      await listener.subscribe(PREVIOUS_RELEASE_CHANNEL, CHANGES_CHANNEL);
      const owner = unique('sec');
      await bus.publish(owner);
      await until('two deliveries', () => channelsOf(owner).length === 2);
      assert.deepEqual(channelsOf(owner), [PREVIOUS_RELEASE_CHANNEL, CHANGES_CHANNEL].sort());
    } finally {
      listener.disconnect();
    }
  });

  for (const [lost, kept] of [
    [PREVIOUS_RELEASE_CHANNEL, CHANGES_CHANNEL],
    [CHANGES_CHANNEL, PREVIOUS_RELEASE_CHANNEL],
  ] as const) {
    test(`losing the subscription to ${lost} alone makes the bus unhealthy until it holds again`, async () => {
      // A Redis user allowed both channels, then only one: Redis closes the subscriber's
      // connection, and refuses the lost channel when it subscribes again (as an ACL written for
      // one channel name would).
      const user = unique('tessera-test-');
      const password = randomBytes(16).toString('hex');
      const allow = (...channels: string[]) =>
        redis.call(
          'ACL',
          'SETUSER',
          user,
          'on',
          `>${password}`,
          '~*',
          '+@all',
          'resetchannels',
          ...channels.map((c) => `&${c}`),
        );
      await allow(CHANGES_CHANNEL, PREVIOUS_RELEASE_CHANNEL);
      const url = new URL(process.env.TEST_REDIS_URL as string);
      url.username = user;
      url.password = password;
      try {
        const { bus, lines } = node(url.toString());
        buses.push(bus);
        let reconnects = 0;
        bus.onReconnect(() => reconnects++);
        await until('the bus listening on both channels', () => bus.healthy());

        await allow(kept);
        await until('the bus unhealthy', () => !bus.healthy());
        await until('the refusal reported', () => lines.some((l) => l.includes(`${lost} refused`)));
        // Connected again and subscribed to the kept channel: still unhealthy, retrying quietly.
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(bus.healthy(), false);
        assert.deepEqual(
          lines.filter((l) => l.startsWith('warn:')).map((l) => l.replace(/\(.*\)/, '(…)')),
          [
            'warn: change-notice channel is down: cached keys and secrets are bypassed until it returns',
            `warn: change-notice channel ${lost} refused the subscription (…): cached keys and secrets are bypassed until it is allowed`,
          ],
        );

        await allow(CHANGES_CHANNEL, PREVIOUS_RELEASE_CHANNEL);
        await until('the bus healthy again', () => bus.healthy());
        assert.equal(reconnects, 1, 'what was cached meanwhile is dropped');
        assert.equal(
          lines.at(-1),
          'info: change-notice channel is back: cached keys and secrets are used again',
        );
      } finally {
        await redis.call('ACL', 'DELUSER', user);
      }
    });
  }
});
