/**
 * Fixed one-minute windows per key (a credential id, or a client IP for requests without a valid
 * token). The interface is async so a shared store (Redis) can stand behind it for many nodes.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until the window resets (at least 1). */
  resetSeconds: number;
}

export interface RateLimiter {
  /** Counts one request against `key`'s window; `allowed` says whether it was within the limit. */
  consume(key: string): Promise<RateDecision>;
  /**
   * The window's state without counting anything: `allowed` says whether one more request would
   * be, `remaining` how many are left. For budgets that only failures spend, checked first.
   */
  peek(key: string): Promise<RateDecision>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;
/** Bounds memory whatever the number of distinct clients; the oldest windows go first. */
export const MAX_TRACKED_KEYS = 100_000;

/** The state of a key without a live window: the whole budget, a full window ahead. */
export function freshDecision(limit: number): RateDecision {
  return { allowed: limit > 0, limit, remaining: limit, resetSeconds: WINDOW_MS / 1000 };
}

export function createMemoryRateLimiter(
  limit: number,
  now: () => number = Date.now,
  maxKeys: number = MAX_TRACKED_KEYS,
): RateLimiter {
  // Insertion order is window-start order (a renewed window is re-inserted at the end), and every
  // window is equally long, so the first entries are always the first to expire: eviction only
  // ever looks at the head, and a spray of new keys costs O(1) each instead of a full scan.
  const windows = new Map<string, { count: number; resetAt: number }>();

  function dropExpired(at: number) {
    for (const [key, window] of windows) {
      if (window.resetAt > at) break;
      windows.delete(key);
    }
  }

  function decision(count: number, resetAt: number, at: number, allowed: boolean): RateDecision {
    return {
      allowed,
      limit,
      remaining: Math.max(0, limit - count),
      resetSeconds: Math.max(1, Math.ceil((resetAt - at) / 1000)),
    };
  }

  return {
    async consume(key) {
      const at = now();
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
      window.count += 1;
      return decision(window.count, window.resetAt, at, window.count <= limit);
    },
    async peek(key) {
      const at = now();
      const window = windows.get(key);
      if (window === undefined || window.resetAt <= at) return freshDecision(limit);
      return decision(window.count, window.resetAt, at, window.count < limit);
    },
    async close() {
      windows.clear();
    },
  };
}
