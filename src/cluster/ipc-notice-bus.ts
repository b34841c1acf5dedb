import type { ChangeNoticeBus } from './change-notice-bus.js';
import type { WorkerChannel } from './ipc.js';

/**
 * Change notices between the workers of one server, through the primary. Healthy while the line
 * to the primary is up; without it cached keys and secrets are bypassed (see InvalidatedCache).
 */
export function createIpcNoticeBus(channel: WorkerChannel): ChangeNoticeBus {
  const listeners: ((owner: string) => void)[] = [];
  const tell = (owner: string) => {
    for (const listener of listeners) listener(owner);
  };
  channel.onMessage((message) => {
    if (message.tessera === 'invalidate') tell(message.owner);
  });
  return {
    async publish(owner) {
      tell(owner);
      channel.send({ tessera: 'invalidate', owner });
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect() {},
    healthy: () => channel.connected(),
    async close() {},
  };
}
