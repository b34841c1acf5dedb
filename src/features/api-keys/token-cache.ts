import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../cluster/invalidated-cache.js';
import { roleNotice } from '../roles/role-resolution.js';

/** What the token cache keeps: a key's look-up, and the custom roles its grants came from. */
export interface CachedKey {
  cid: string;
  customRoleTags: readonly string[];
}

/**
 * Token look-ups by token hash, so that authenticating does not hit storage on every request:
 * each entry is dropped on every node when its key (cid) changes, or when one of its custom roles
 * does (an edited role changes what every key holding it may do), and lives at most 60 s.
 */
export class TokenCache<V extends CachedKey = CachedKey> extends InvalidatedCache<V> {
  constructor(bus: ChangeNoticeBus, clock: () => number = Date.now, onLookup?: (hit: boolean) => void) {
    super(bus, {
      ownerOf: (value) => value.cid,
      onLookup,
      alsoOwnedBy: (value) => value.customRoleTags.map(roleNotice),
      maxEntries: 10_000,
      ttlMs: 60_000,
      clock,
    });
  }
}
