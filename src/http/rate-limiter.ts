import type { MaybePromise } from '../runtime/maybe-promise.js';

/**
 * Fixed one-minute windows per key (a credential id, or a client IP for requests without a valid
 * token). A limiter in memory answers at once; one over a shared store (Redis, for many nodes)
 * answers with a promise.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until the window resets (at least 1). */
  resetSeconds: number;
}

export interface RateLimiter {
  /**
   * Counts one request against `key`'s window and says whether it was within the limit, in one
   * step: no other request's count can come between the check and the spend. `limit` is this
   * key's own budget (an API key's `rateLimitPerMinute`); unset, the limiter's default. The count
   * is the same whatever the limit: only the decision depends on it.
   */
  consume(key: string, limit?: number): MaybePromise<RateDecision>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;
/** Bounds memory whatever the number of distinct clients; the oldest windows go first. */
export const MAX_TRACKED_KEYS = 100_000;

/** A key's window: requests counted in it, and when it ends (ms since the epoch). */
export interface Window {
  count: number;
  resetAt: number;
}

/**
 * The one-minute windows themselves, bounded: what a memory limiter counts in, and what the
 * primary of a multi-process server keeps for all its workers (src/cluster/).
 */
export function createWindows(now: () => number = Date.now, maxKeys: number = MAX_TRACKED_KEYS) {
  // Insertion order is window-start order (a renewed window is re-inserted at the end), and every
  // window is equally long, so the first entries are always the first to expire: eviction only
  // ever looks at the head, and a spray of new keys costs O(1) each instead of a full scan.
  const windows = new Map<string, Window>();

  function dropExpired(at: number) {
    for (const [key, window] of windows) {
      if (window.resetAt > at) break;
      windows.delete(key);
    }
  }

  /** The key's live window, a new one (counting nothing yet) if it had none. */
  function open(key: string, at: number): Window {
    let window = windows.get(key);
    if (window === undefined || window.resetAt <= at) {
      windows.delete(key);
      dropExpired(at);
      // Still full of live windows: the oldest one goes (its client starts afresh).
      if (windows.size >= maxKeys) {
        const oldest = windows.keys().next();
        if (oldest.done !== true) windows.delete(oldest.value);
      }
      window = { count: 0, resetAt: at + WINDOW_MS };
      windows.set(key, window);
    }
    return window;
  }

  return {
    now,
    /** Counts `amount` more requests in the key's live window and returns it. */
    add(key: string, amount: number): Window {
      const window = open(key, now());
      window.count += amount;
      return window;
    },
    /** Takes another count's word for a key's window (a worker hearing the primary's totals). */
    set(key: string, count: number, resetAt: number): void {
      if (resetAt <= now()) return;
      const window = open(key, now());
      window.count = count;
      window.resetAt = resetAt;
    },
    clear(): void {
      windows.clear();
    },
  };
}

export type Windows = ReturnType<typeof createWindows>;

/** The decision on a window that has just counted the request being decided. */
export function decide(limit: number, window: Window, at: number): RateDecision {
  return {
    allowed: window.count <= limit,
    limit,
    remaining: Math.max(0, limit - window.count),
    resetSeconds: Math.max(1, Math.ceil((window.resetAt - at) / 1000)),
  };
}

/** A limiter over windows held in this process; `limit` is its default. */
export function rateLimiterOver(limit: number, windows: Windows): RateLimiter {
  return {
    consume(key, keyLimit = limit) {
      return decide(keyLimit, windows.add(key, 1), windows.now());
    },
    async close() {
      windows.clear();
    },
  };
}

export function createMemoryRateLimiter(
  limit: number,
  now: () => number = Date.now,
  maxKeys: number = MAX_TRACKED_KEYS,
): RateLimiter {
  return rateLimiterOver(limit, createWindows(now, maxKeys));
}
