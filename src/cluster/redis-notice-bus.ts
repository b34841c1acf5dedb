import type { ChangeNoticeBus } from './change-notice-bus.js';
import { connectRedis, type Warn } from './redis.js';

/** The channel change notices travel on. */
const CHANNEL = 'tessera:api-key-changed';
/** The subscriber connection is pinged this often ... */
const PING_EVERY_MS = 250;
/** ... and counts as down once it has not answered for this long (a partition closes nothing). */
const SILENT_MS = 1_000;

/**
 * Change notices over Redis pub/sub; unhealthy while the subscriber is not connected, and
 * while it is connected but silent (Redis unreachable without the connection closing: a network
 * partition, a hung server), since notices may then be lost without any error.
 */
export function createRedisNoticeBus(url: string, log: Warn): ChangeNoticeBus {
  const publisher = connectRedis(url);
  const subscriber = connectRedis(url);
  const listeners: ((owner: string) => void)[] = [];
  const reconnectListeners: (() => void)[] = [];
  let subscribed = false;
  let everSubscribed = false;
  /** When the subscriber connection last proved it delivers (subscribe reply, message, pong). */
  let lastHeard = 0;
  let silent = false;

  const heard = () => {
    const now = Date.now();
    if (subscribed && (silent || now - lastHeard >= SILENT_MS)) {
      if (silent) log.info('change-notice channel answers again: cached keys and secrets are used again');
      silent = false;
      // Notices may have been lost meanwhile: nothing cached before can be trusted.
      for (const listener of reconnectListeners) listener();
    }
    lastHeard = now;
  };

  subscriber.on('message', (_channel: string, owner: string) => {
    heard();
    for (const listener of listeners) listener(owner);
  });
  subscriber.on('ready', () => {
    subscriber.subscribe(CHANNEL).then(
      () => {
        subscribed = true;
        silent = false;
        lastHeard = Date.now();
        if (everSubscribed) {
          log.info('change-notice channel is back: cached keys and secrets are used again');
          for (const listener of reconnectListeners) listener();
        }
        everSubscribed = true;
      },
      () => {
        subscribed = false;
      },
    );
  });
  const down = () => {
    if (subscribed)
      log.warn('change-notice channel is down: cached keys and secrets are bypassed until it returns');
    subscribed = false;
    silent = false;
  };
  subscriber.on('close', down);
  subscriber.on('end', down);
  subscriber.on('error', () => {});
  publisher.on('error', () => {});

  const pinger = setInterval(() => {
    if (!subscribed || subscriber.status !== 'ready') return;
    if (!silent && Date.now() - lastHeard >= SILENT_MS) {
      silent = true;
      log.warn('change-notice channel is not answering: cached keys and secrets are bypassed until it does');
    }
    subscriber.ping().then(heard, () => {});
  }, PING_EVERY_MS);
  pinger.unref();

  return {
    async publish(owner) {
      // Our own subscriber delivers it to this node too.
      await publisher.publish(CHANNEL, owner);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    healthy: () => subscribed && subscriber.status === 'ready' && Date.now() - lastHeard < SILENT_MS,
    async close() {
      clearInterval(pinger);
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
