import type { ChangeNoticeBus } from './change-notice-bus.js';

export interface InvalidatedCacheOptions<V> {
  /** The id whose change notices drop this value (an API key's cid, a secret's id). */
  ownerOf: (value: V) => string;
  /**
   * Further ids whose notices drop it too: what the value was derived from besides its owner (a
   * key's grants come from its custom roles as well as from the key).
   */
  alsoOwnedBy?: (value: V) => readonly string[];
  maxEntries?: number;
  /** Told of every look-up, whether it hit (the cache-hit metrics). */
  onLookup?: ((hit: boolean) => void) | undefined;
  /** A belt on top of invalidation: no entry outlives this, whatever happens to messages. */
  ttlMs?: number;
  clock?: () => number;
}

/**
 * How often a hit may move its entry to the recent end (a delete and an insert). Moving the same
 * key over and over costs V8's Map time in proportion to its size: about 19 µs per move with
 * 10,000 entries (0.05 µs with 10), so a hot key moved on every hit slowed every request of a
 * busy node. Eviction order is least recently used to within this interval.
 */
const RECENCY_STEP_MS = 1_000;

/**
 * Look-ups kept in process so that hot reads do not hit storage on every request, bounded (least
 * recently used out first) and timed out. Correctness rests on invalidation: every change to an
 * object is announced on the bus under its id and drops its entries on every node; while the bus
 * is unhealthy the cache is bypassed (and emptied when the bus returns), so a node never serves
 * what it could not hear changed.
 */
export class InvalidatedCache<V> {
  /** In order of last use (to within RECENCY_STEP_MS): the first entry is evicted first. */
  private readonly entries = new Map<
    string,
    { value: V; owners: readonly string[]; at: number; usedAt: number }
  >();
  /**
   * The keys of each owner's entries, so that a change notice drops them without scanning every
   * entry (a notice reaches every cache on every node). Kept exactly in step with `entries`.
   */
  private readonly keysOfOwner = new Map<string, Set<string>>();
  /** Bumped by every invalidation: a look-up that raced one must not be cached. */
  private generation = 0;
  private readonly ownerOf: (value: V) => string;
  private readonly alsoOwnedBy: ((value: V) => readonly string[]) | undefined;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private readonly onLookup: ((hit: boolean) => void) | undefined;

  constructor(
    private readonly bus: ChangeNoticeBus,
    options: InvalidatedCacheOptions<V>,
  ) {
    this.ownerOf = options.ownerOf;
    this.alsoOwnedBy = options.alsoOwnedBy;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.clock = options.clock ?? Date.now;
    this.onLookup = options.onLookup;
    bus.subscribe((owner) => this.dropOwner(owner));
    bus.onReconnect(() => this.clear());
  }

  get(key: string): V | undefined {
    const value = this.lookUp(key);
    this.onLookup?.(value !== undefined);
    return value;
  }

  private lookUp(key: string): V | undefined {
    if (!this.bus.healthy()) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.clock();
    if (now - entry.at > this.ttlMs) {
      this.delete(key);
      return undefined;
    }
    if (now - entry.usedAt >= RECENCY_STEP_MS) {
      entry.usedAt = now;
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  /** A ticket taken before reading storage; `set` only stores if nothing was invalidated since. */
  ticket(): number {
    return this.generation;
  }

  set(key: string, value: V, ticket: number) {
    if (ticket !== this.generation || !this.bus.healthy()) return;
    this.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    const now = this.clock();
    const owner = this.ownerOf(value);
    const owners = this.alsoOwnedBy === undefined ? [owner] : [owner, ...this.alsoOwnedBy(value)];
    this.entries.set(key, { value, owners, at: now, usedAt: now });
    for (const one of owners) {
      const keys = this.keysOfOwner.get(one);
      if (keys === undefined) this.keysOfOwner.set(one, new Set([key]));
      else keys.add(key);
    }
  }

  /**
   * Announces a change to an object to every node (this one included). Never throws: the change
   * is already committed. False when the announcement could not be sent; nodes whose channel is
   * down bypass their caches anyway, and every entry expires within the TTL.
   */
  async invalidate(owner: string): Promise<boolean> {
    this.dropOwner(owner);
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.bus.publish(owner);
        return true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
    return false;
  }

  /**
   * Drops this node's entries of an object without announcing anything: for a cache that shares
   * another's announcements (the same ids on the same bus), so that one notice serves both.
   */
  dropOwner(owner: string) {
    this.generation++;
    const keys = this.keysOfOwner.get(owner);
    if (keys === undefined) return;
    // Through delete: an entry with other owners leaves their sets too.
    for (const key of [...keys]) this.delete(key);
  }

  /** Drops one entry, on this node only: a value found unusable, to be read again. */
  delete(key: string) {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    for (const owner of entry.owners) {
      const keys = this.keysOfOwner.get(owner);
      keys?.delete(key);
      if (keys?.size === 0) this.keysOfOwner.delete(owner);
    }
  }

  /** How many owners have entries here (for tests and gauges). */
  get owners(): number {
    return this.keysOfOwner.size;
  }

  clear() {
    this.generation++;
    this.entries.clear();
    this.keysOfOwner.clear();
  }
}
