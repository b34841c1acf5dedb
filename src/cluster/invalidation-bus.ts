/**
 * Tells every node that an API key changed, so that no node keeps serving a stale cached grant.
 * `healthy()` is false while messages may be missed: callers must then stop trusting caches.
 */
export interface InvalidationBus {
  publish(cid: string): Promise<void>;
  subscribe(listener: (cid: string) => void): void;
  /** Called when the bus recovers after being down: anything cached meanwhile may be stale. */
  onReconnect(listener: () => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}

/** One process, nothing to tell anyone else: always healthy. */
export function createLocalBus(): InvalidationBus {
  const listeners: ((cid: string) => void)[] = [];
  return {
    async publish(cid) {
      for (const listener of listeners) listener(cid);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect() {},
    healthy: () => true,
    async close() {},
  };
}
