import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../cluster/invalidated-cache.js';

/**
 * Token look-ups by token hash, so that authenticating does not hit storage on every request:
 * each entry is dropped on every node when its key (cid) changes, and lives at most 60 s.
 */
export class TokenCache<V extends { cid: string } = { cid: string }> extends InvalidatedCache<V> {
  constructor(bus: ChangeNoticeBus, clock: () => number = Date.now) {
    super(bus, { ownerOf: (value) => value.cid, maxEntries: 10_000, ttlMs: 60_000, clock });
  }
}
