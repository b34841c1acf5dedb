import type { InvalidationBus } from './invalidation-bus.js';
import type { WorkerChannel } from './ipc.js';

/**
 * Key-change notices between the workers of one server, through the primary. Healthy while the
 * line to the primary is up; without it the token cache is bypassed (see TokenCache).
 */
export function createIpcBus(channel: WorkerChannel): InvalidationBus {
  const listeners: ((cid: string) => void)[] = [];
  const tell = (cid: string) => {
    for (const listener of listeners) listener(cid);
  };
  channel.onMessage((message) => {
    if (message.tessera === 'invalidate') tell(message.cid);
  });
  return {
    async publish(cid) {
      tell(cid);
      channel.send({ tessera: 'invalidate', cid });
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect() {},
    healthy: () => channel.connected(),
    async close() {},
  };
}
