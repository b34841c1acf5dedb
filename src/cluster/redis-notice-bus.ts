import { ReplyError } from 'ioredis';
import type { ChangeNoticeBus } from './change-notice-bus.js';
import { connectRedis, type Warn } from './redis.js';

/** The channel change notices travel on. */
export const CHANGES_CHANNEL = 'tessera:changes';
/**
 * The previous release's channel, named when only API key changes were announced. Nodes of that
 * release publish and listen on it alone, so during a rolling upgrade this release publishes
 * every notice on both channels and listens on both: their changes still reach us, and ours reach
 * them (an id they have nothing cached for drops nothing there).
 * Goes in the next release: its nodes will roll among nodes of this one, which already hear and
 * send on CHANGES_CHANNEL, so no node left in the fleet listens on the old name alone.
 */
export const PREVIOUS_RELEASE_CHANNEL = 'tessera:api-key-changed';
const CHANNELS = [CHANGES_CHANNEL, PREVIOUS_RELEASE_CHANNEL];

/** The subscriber connection is pinged this often ... */
const PING_EVERY_MS = 250;
/** ... and counts as down once it has not answered for this long (a partition closes nothing). */
const SILENT_MS = 1_000;

const BYPASSED = 'cached keys and secrets are bypassed';
const USED_AGAIN = 'cached keys and secrets are used again';

/**
 * Change notices over Redis pub/sub. Unhealthy unless the subscriber holds a subscription to
 * every channel, and while it is connected but silent (Redis unreachable without the connection
 * closing: a network partition, a hung server), since notices may then be lost without any error.
 */
export function createRedisNoticeBus(url: string, log: Warn): ChangeNoticeBus {
  const publisher = connectRedis(url);
  // Subscribed here on every connect, one channel at a time, so that one Redis refuses (an ACL
  // allowing only the other name) is known, reported and tried again; ioredis's own resubscribing
  // would send them all as one command.
  const subscriber = connectRedis(url, { autoResubscribe: false });
  const listeners: ((owner: string) => void)[] = [];
  const reconnectListeners: (() => void)[] = [];
  /** The channels this connection is subscribed to; notices may be missed unless it is all. */
  const held = new Set<string>();
  const pending = new Set<string>();
  /** Channels Redis refused to subscribe to, reported once until every channel is held. */
  const refused = new Set<string>();
  let everListening = false;
  /** When the subscriber connection last proved it delivers (subscribe reply, message, pong). */
  let lastHeard = 0;
  let silent = false;

  const listening = () => held.size === CHANNELS.length && subscriber.status === 'ready';
  const reconnected = () => {
    for (const listener of reconnectListeners) listener();
  };

  const heard = () => {
    const now = Date.now();
    if (listening() && (silent || now - lastHeard >= SILENT_MS)) {
      if (silent) log.info(`change-notice channel answers again: ${USED_AGAIN}`);
      silent = false;
      // Notices may have been lost meanwhile: nothing cached before can be trusted.
      reconnected();
    }
    lastHeard = now;
  };

  const everyChannelHeld = () => {
    const wasDown = everListening || refused.size > 0;
    everListening = true;
    refused.clear();
    silent = false;
    lastHeard = Date.now();
    if (wasDown) {
      log.info(`change-notice channel is back: ${USED_AGAIN}`);
      reconnected();
    }
  };

  const subscribeMissing = () => {
    for (const channel of CHANNELS) {
      if (held.has(channel) || pending.has(channel)) continue;
      pending.add(channel);
      subscriber.subscribe(channel).then(
        () => {
          pending.delete(channel);
          held.add(channel);
          if (held.size === CHANNELS.length) everyChannelHeld();
        },
        (error: unknown) => {
          pending.delete(channel);
          // A refusal is Redis's answer; a timeout or a closed connection is retried quietly.
          if (!(error instanceof ReplyError) || refused.has(channel)) return;
          refused.add(channel);
          log.warn(
            `change-notice channel ${channel} refused the subscription (${(error as Error).message}): ${BYPASSED} until it is allowed`,
          );
        },
      );
    }
  };

  subscriber.on('message', (_channel: string, owner: string) => {
    heard();
    for (const listener of listeners) listener(owner);
  });
  subscriber.on('ready', subscribeMissing);
  const down = () => {
    if (held.size === CHANNELS.length)
      log.warn(`change-notice channel is down: ${BYPASSED} until it returns`);
    held.clear();
    silent = false;
  };
  subscriber.on('close', down);
  subscriber.on('end', down);
  subscriber.on('error', () => {});
  publisher.on('error', () => {});

  const pinger = setInterval(() => {
    if (subscriber.status !== 'ready') return;
    if (held.size < CHANNELS.length) return subscribeMissing();
    if (!silent && Date.now() - lastHeard >= SILENT_MS) {
      silent = true;
      log.warn(`change-notice channel is not answering: ${BYPASSED} until it does`);
    }
    subscriber.ping().then(heard, () => {});
  }, PING_EVERY_MS);
  pinger.unref();

  return {
    async publish(owner) {
      // On both channels (see PREVIOUS_RELEASE_CHANNEL), so our own subscriber delivers it to
      // this node twice: the second drops again what the first dropped (at most an entry cached
      // in between, which is then read again), which is harmless.
      await Promise.all(CHANNELS.map((channel) => publisher.publish(channel, owner)));
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    healthy: () => listening() && Date.now() - lastHeard < SILENT_MS,
    async close() {
      clearInterval(pinger);
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
