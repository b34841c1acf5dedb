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
  consume(key: string): Promise<RateDecision>;
  close(): Promise<void>;
}

const WINDOW_MS = 60_000;
/** Bounds memory whatever the number of distinct clients; the oldest windows go first. */
const MAX_TRACKED_KEYS = 100_000;

export function createMemoryRateLimiter(limit: number, now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>();

  function evict(at: number) {
    for (const [key, window] of windows) if (window.resetAt <= at) windows.delete(key);
    // Still full of live windows: drop the oldest inserted ones.
    for (const key of windows.keys()) {
      if (windows.size < MAX_TRACKED_KEYS) break;
      windows.delete(key);
    }
  }

  return {
    async consume(key) {
      const at = now();
      let window = windows.get(key);
      if (window === undefined || window.resetAt <= at) {
        if (window === undefined && windows.size >= MAX_TRACKED_KEYS) evict(at);
        window = { count: 0, resetAt: at + WINDOW_MS };
        windows.set(key, window);
      }
      window.count += 1;
      return {
        allowed: window.count <= limit,
        limit,
        remaining: Math.max(0, limit - window.count),
        resetSeconds: Math.max(1, Math.ceil((window.resetAt - at) / 1000)),
      };
    },
    async close() {
      windows.clear();
    },
  };
}
