import type { InvalidationBus } from '../../cluster/invalidation-bus.js';

const MAX_ENTRIES = 10_000;
/** A belt on top of invalidation: no entry outlives this, whatever happens to messages. */
const TTL_MS = 60_000;

/**
 * Token look-ups by token hash, kept in process so that authenticating does not hit storage on
 * every request. Correctness rests on invalidation: every change to a key is announced on the
 * bus and drops its entry on every node; while the bus is unhealthy the cache is bypassed (and
 * emptied when the bus returns), so a node never serves a grant it could not hear revoked.
 */
export class TokenCache<V extends { cid: string } = { cid: string }> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  /** Bumped by every invalidation: a look-up that raced one must not be cached. */
  private generation = 0;

  constructor(
    private readonly bus: InvalidationBus,
    private readonly clock: () => number = Date.now,
  ) {
    bus.subscribe((cid) => this.dropCid(cid));
    bus.onReconnect(() => this.clear());
  }

  get(tokenHash: string): V | undefined {
    if (!this.bus.healthy()) return undefined;
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (this.clock() - entry.at > TTL_MS) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    // Most recently used last, so eviction takes the least recently used first.
    this.entries.delete(tokenHash);
    this.entries.set(tokenHash, entry);
    return entry.value;
  }

  /** A ticket taken before reading storage; `set` only stores if nothing was invalidated since. */
  ticket(): number {
    return this.generation;
  }

  set(tokenHash: string, value: V, ticket: number) {
    if (ticket !== this.generation || !this.bus.healthy()) return;
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(tokenHash, { value, at: this.clock() });
  }

  /**
   * Announces a change to a key to every node (this one included). Never throws: the change is
   * already committed. False when the announcement could not be sent; nodes whose channel is down
   * bypass their caches anyway, and every entry expires within TTL_MS.
   */
  async invalidate(cid: string): Promise<boolean> {
    this.dropCid(cid);
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.bus.publish(cid);
        return true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
    return false;
  }

  private dropCid(cid: string) {
    this.generation++;
    for (const [hash, entry] of this.entries) if (entry.value.cid === cid) this.entries.delete(hash);
  }

  clear() {
    this.generation++;
    this.entries.clear();
  }
}
