/**
 * Tells every node that something cached changed, so that no node keeps serving it stale. A
 * notice is the id of the changed object's owner: an API key's cid (its cached grants) or a
 * secret's id (its cached row and versions).
 * `healthy()` is false while notices may be missed: callers must then stop trusting caches.
 */
export interface ChangeNoticeBus {
  publish(owner: string): Promise<void>;
  subscribe(listener: (owner: string) => void): void;
  /** Called when the bus recovers after being down: anything cached meanwhile may be stale. */
  onReconnect(listener: () => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}

/** One process, nothing to tell anyone else: always healthy. */
export function createLocalNoticeBus(): ChangeNoticeBus {
  const listeners: ((owner: string) => void)[] = [];
  return {
    async publish(owner) {
      for (const listener of listeners) listener(owner);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    onReconnect() {},
    healthy: () => true,
    async close() {},
  };
}
