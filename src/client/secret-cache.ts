import type { SecretChangesPage } from './api.js';

/** How long each long poll of the change feed waits on the server. */
const FEED_WAIT_SECONDS = 25;
/** A bound on what one process keeps: the oldest entry goes first past it. */
const MAX_ENTRIES = 10_000;
/** After the feed fails, values are fetched uncached for at least this long before it is tried again. */
const FEED_RETRY_MS = 1_000;

export interface SecretCacheSource {
  fetchValue(tag: string): Promise<string>;
  /** The change feed: no `since` asks only for the current cursor. */
  changes(since: string | undefined, waitSeconds: number, signal: AbortSignal): Promise<SecretChangesPage>;
}

/**
 * Secret values kept in memory, dropped as the change feed reports each change: a value is cached
 * only while the feed is followed, so a cached value is never older than the last change the feed
 * could report. The feed's cursor is taken before a value is first fetched, so a change made in
 * between is reported and drops the entry. When the feed fails (the server is down, the key lost
 * the right to read it), every entry is dropped and values are fetched afresh on each call until
 * the feed is followed again: an unfollowed cache would serve values that may have changed.
 */
export class SecretCache {
  private readonly values = new Map<string, Promise<string>>();
  private following: Promise<boolean> | undefined;
  private retryAt = 0;
  private readonly stop = new AbortController();

  constructor(private readonly source: SecretCacheSource) {}

  async get(tag: string): Promise<string> {
    if (!(await this.follow())) return this.source.fetchValue(tag);
    const cached = this.values.get(tag);
    if (cached !== undefined) return cached;
    const fetched = this.source.fetchValue(tag);
    if (this.values.size >= MAX_ENTRIES) this.values.delete(this.values.keys().next().value as string);
    this.values.set(tag, fetched);
    // A failed fetch is not kept: the next call tries again.
    fetched.catch(() => {
      if (this.values.get(tag) === fetched) this.values.delete(tag);
    });
    return fetched;
  }

  /** Stops following the feed (the pending long poll is aborted) and empties the cache. */
  close(): void {
    this.stop.abort();
    this.values.clear();
  }

  /** True once the feed is followed; false while it cannot be (then nothing is cached). */
  private follow(): Promise<boolean> {
    if (this.stop.signal.aborted || Date.now() < this.retryAt) return Promise.resolve(false);
    this.following ??= this.source.changes(undefined, 0, this.stop.signal).then(
      ({ cursor }) => {
        void this.poll(cursor);
        return true;
      },
      () => this.lost(),
    );
    return this.following;
  }

  private async poll(from: string): Promise<void> {
    let cursor = from;
    while (!this.stop.signal.aborted) {
      try {
        const page = await this.source.changes(cursor, FEED_WAIT_SECONDS, this.stop.signal);
        for (const change of page.changes) this.values.delete(change.tag);
        cursor = page.cursor;
      } catch {
        this.lost();
        return;
      }
    }
  }

  private lost(): false {
    this.values.clear();
    this.following = undefined;
    this.retryAt = Date.now() + FEED_RETRY_MS;
    return false;
  }
}
