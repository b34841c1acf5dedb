import type { ChangeNoticeBus } from './change-notice-bus.js';

export interface NoticeWaitersOptions {
  /** Which notices concern these waiters; the others wake nobody. */
  accepts: (owner: string) => boolean;
  /** How many may wait at once on this node (each holds a connection open). */
  maxWaiters: number;
  /** While notices may be missed (no bus, or an unhealthy one), a wait lasts at most this long. */
  pollMs: number;
  /**
   * A wait lasts at most this long even while the bus is healthy: a belt for a notice lost
   * without the bus noticing, and for nodes of a previous release that announce nothing.
   */
  trustedPollMs: number;
}

/**
 * Long polls waiting for a change: each waits until a change notice that concerns it arrives on
 * the bus (from any node), its time is up, or the server closes, and then looks for itself. A
 * wake-up says that something may have changed, never what, so a missed or a spurious one costs
 * at most a look or a delay, never a wrong answer; while the bus cannot be trusted, waits are cut
 * short so that waiters look every `pollMs`.
 *
 * A waiter takes a ticket before it looks, and waits with it: a notice that arrived in between
 * (after the look began, before the wait) ends the wait at once instead of being missed.
 */
export class NoticeWaiters {
  private readonly waiting = new Set<() => void>();
  /** Bumped by every wake-up: a ticket older than this has missed one. */
  private generation = 0;
  private closing = false;

  constructor(
    private readonly bus: ChangeNoticeBus | undefined,
    private readonly options: NoticeWaitersOptions,
  ) {
    bus?.subscribe((owner) => {
      if (options.accepts(owner)) this.wakeAll();
    });
    // Notices may have been lost while the bus was down: everyone looks again.
    bus?.onReconnect(() => this.wakeAll());
  }

  ticket(): number {
    return this.generation;
  }

  /** True once close() was called: waits end at once, and callers should answer now. */
  get closed(): boolean {
    return this.closing;
  }

  /** Whether one more may wait on this node. */
  hasRoom(): boolean {
    return this.waiting.size < this.options.maxWaiters;
  }

  /**
   * Resolves at the first of: a wake-up since `ticket`, `ms` milliseconds, the bus's poll bound,
   * `signal` aborting (the client went away), or close().
   */
  wait(ms: number, ticket: number, signal?: AbortSignal): Promise<void> {
    if (this.closing || ticket !== this.generation || signal?.aborted === true) return Promise.resolve();
    const trusted = this.bus?.healthy() === true;
    const bound = Math.min(ms, trusted ? this.options.trustedPollMs : this.options.pollMs);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, bound));
      signal?.addEventListener('abort', done, { once: true });
      this.waiting.add(done);
    });
  }

  /** Every waiter looks again (a change may have happened). */
  wakeAll(): void {
    this.generation++;
    for (const done of [...this.waiting]) done();
  }

  /** The server is stopping: every wait ends now, and any later one at once. */
  close(): void {
    this.closing = true;
    this.wakeAll();
  }
}
